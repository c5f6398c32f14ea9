import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventBus, type EventEnvelope } from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import type { RedisConnection } from '@redkit/redis';

import { eventually, sharedTopologies } from '../harness/index.js';
import { deleteKeys, metricValue, open, sleep, uniquePrefix } from './messaging-test-kit.js';

describe.each(sharedTopologies)('EventBus on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('bus');
  let connection: RedisConnection;
  let metrics: MetricsService;
  let bus: EventBus;

  beforeAll(async () => {
    connection = await open(redis(), keyPrefix);
    metrics = new MetricsService();
    bus = new EventBus(connection, { source: 'test' }, metrics);
  });

  afterAll(async () => {
    await bus.close();
    await deleteKeys(connection, keyPrefix);
    await connection.close();
  });

  it('delivers events to exact and pattern subscribers, in an envelope', async () => {
    const exact: EventEnvelope[] = [];
    const market: EventEnvelope[] = [];
    await bus.subscribe('trade.executed', (event) => void exact.push(event));
    await bus.subscribe('market.*', (event) => void market.push(event));
    const sent = await bus.publish('trade.executed', { price: '1.5' }, { correlationId: 'order-7' });
    await bus.publish('market.BTC-USD', { bid: '1' });
    await bus.publish('market.ETH-USD', { bid: '2' });
    await bus.publish('other.thing', {});
    await eventually(() => {
      expect(exact).toEqual([sent]);
      expect(market.map((event) => event.type).sort()).toEqual(['market.BTC-USD', 'market.ETH-USD']);
    });
    expect(sent).toMatchObject({ type: 'trade.executed', correlationId: 'order-7', source: 'test' });
    expect(typeof sent.id).toBe('string');
    expect(await metricValue(metrics, 'redkit_events_published_total{type="trade.executed"}')).toBe(1);
    expect(await metricValue(metrics, 'redkit_events_received_total{type="market.BTC-USD"}')).toBe(1);
  });

  it('keeps calling the other handlers when one throws or rejects', async () => {
    const received: string[] = [];
    await bus.subscribe('iso.*', () => {
      throw new Error('sync failure');
    });
    await bus.subscribe('iso.*', async () => {
      throw new Error('async failure');
    });
    await bus.subscribe('iso.*', (event) => void received.push(event.type));
    await bus.publish('iso.one', 1);
    await bus.publish('iso.two', 2);
    // On a cluster, publishes through different nodes may arrive in either order.
    await eventually(() => expect([...received].sort()).toEqual(['iso.one', 'iso.two']));
    await eventually(async () =>
      expect(await metricValue(metrics, 'redkit_events_handler_errors_total{type="iso.two"}')).toBe(2),
    );
  });

  it('counts and drops malformed envelopes and keeps listening', async () => {
    const received: unknown[] = [];
    await bus.subscribe('bad.input', (event) => void received.push(event.data));
    const channel = bus.channelOf('bad.input');
    // On a cluster the bus uses sharded pub/sub: a raw message reaches it through SPUBLISH only.
    const publishRaw = (message: string) =>
      bus.publishesSharded
        ? connection.client.spublish(channel, message)
        : connection.client.publish(channel, message);
    await publishRaw('not json');
    await publishRaw(JSON.stringify({ id: 'x', type: 'bad.input' }));
    // Sharded, 'b' hashes to another bucket than 'bad.input' (CLUSTER KEYSLOT 3300 vs 10433, mod 16).
    await publishRaw(JSON.stringify({ ...(await bus.publish('bad.input', 0)), type: 'b' }));
    await bus.publish('bad.input', 'fine');
    await eventually(() => expect([...received].sort()).toEqual([0, 'fine']));
    // On a cluster, messages published through different nodes may arrive out of order.
    await eventually(async () => expect(await metricValue(metrics, 'redkit_events_malformed_total')).toBe(3));
    expect(bus.isListening).toBe(true);
  });

  it('stops delivering after unsubscribe', async () => {
    const received: unknown[] = [];
    const subscription = await bus.subscribe('gone.*', (event) => void received.push(event.data));
    await bus.publish('gone.a', 1);
    await eventually(() => expect(received).toEqual([1]));
    await subscription.unsubscribe();
    await bus.publish('gone.a', 2);
    await sleep(100);
    expect(received).toEqual([1]);
  });

  it('refuses event types that are not dot-separated words', async () => {
    await expect(bus.publish('a:b', 1)).rejects.toThrow(/event type/);
    await expect(bus.subscribe('a[b]', () => undefined)).rejects.toThrow(/event pattern/);
  });
});
