import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  IdempotencyStore,
  StreamConsumer,
  StreamInspector,
  StreamProducer,
  type StreamConsumerOptions,
  type StreamMessage,
} from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import type { RedisConnection } from '@redkit/redis';

import { eventually, sharedTopologies } from '../harness/index.js';
import { deleteKeys, metricValue, open, sleep, uniquePrefix } from './messaging-test-kit.js';

describe.each(sharedTopologies)('Streams on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('stream');
  let connection: RedisConnection;
  let metrics: MetricsService;
  let producer: StreamProducer;
  let inspector: StreamInspector;
  const consumers: StreamConsumer<never>[] = [];

  async function consume<T>(options: StreamConsumerOptions<T>): Promise<StreamConsumer<T>> {
    const consumer = new StreamConsumer<T>(
      connection,
      { blockMs: 200, claimIdleMs: 1_000, retryDelayMs: 20, ...options },
      { metrics },
    );
    consumers.push(consumer as unknown as StreamConsumer<never>);
    await consumer.start();
    return consumer;
  }

  beforeAll(async () => {
    connection = await open(redis(), keyPrefix);
    metrics = new MetricsService();
    producer = new StreamProducer(connection, { source: 'test' }, metrics);
    inspector = new StreamInspector(connection);
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
  });

  afterAll(async () => {
    await deleteKeys(connection, keyPrefix);
    await connection.close();
  });

  it('delivers every entry once to a group, acks it, and creates the group on demand', async () => {
    const seen: StreamMessage<{ n: number }>[] = [];
    for (let n = 0; n < 20; n++)
      await producer.publish('basic', 'order.placed', { n }, { correlationId: `c${n}` });
    await consume<{ n: number }>({
      stream: 'basic',
      group: 'g',
      handler: (message) => void seen.push(message),
    });
    await eventually(async () => {
      expect(seen).toHaveLength(20);
      expect((await inspector.stats('basic')).groups[0]).toMatchObject({ name: 'g', pending: 0, lag: 0 });
    });
    expect(seen.map((message) => message.data.n)).toEqual([...Array(20).keys()]);
    expect(seen[3]).toMatchObject({
      stream: 'basic',
      group: 'g',
      type: 'order.placed',
      source: 'test',
      correlationId: 'c3',
      deliveries: 1,
    });
    expect(await metricValue(metrics, 'redkit_stream_messages_total{stream="basic",outcome="acked"}')).toBe(
      20,
    );
  });

  it('retries a poison entry maxDeliveries times, dead-letters it with its error, and moves on', async () => {
    const attempts: number[] = [];
    const good: number[] = [];
    await producer.publish('poison', 'job', { poison: true });
    for (let n = 0; n < 5; n++) await producer.publish('poison', 'job', { n });
    await consume<{ poison?: boolean; n?: number }>({
      stream: 'poison',
      group: 'g',
      maxDeliveries: 3,
      handler: (message) => {
        if (message.data.poison) {
          attempts.push(message.deliveries);
          throw new Error('cannot process this one');
        }
        good.push(message.data.n as number);
      },
    });
    await eventually(async () => expect((await inspector.stats('poison')).deadLetterLength).toBe(1));
    expect(attempts).toEqual([1, 2, 3]);
    expect(good.sort()).toEqual([0, 1, 2, 3, 4]);
    const [dead] = await inspector.deadLetters('poison');
    expect(dead).toMatchObject({ group: 'g', error: 'cannot process this one', deliveries: 3 });
    expect(JSON.parse(dead?.fields.data as string)).toEqual({ poison: true });
    expect(dead?.fields.type).toBe('job');
    const stats = await inspector.stats('poison');
    expect(stats.groups[0]?.pending).toBe(0);
    expect(
      await metricValue(metrics, 'redkit_stream_messages_total{stream="poison",outcome="retried"}'),
    ).toBe(2);
    expect(
      await metricValue(metrics, 'redkit_stream_messages_total{stream="poison",outcome="dead_lettered"}'),
    ).toBe(1);
  });

  it('dead-letters at once an entry that StreamProducer did not write, without calling the handler', async () => {
    const key = producer.keyOf('foreign');
    await connection.client.xadd(key, '*', 'something', 'else');
    await producer.publish('foreign', 'job', { n: 1 });
    const handled: number[] = [];
    await consume<{ n: number }>({
      stream: 'foreign',
      group: 'g',
      handler: (message) => void handled.push(message.data.n),
    });
    await eventually(async () => expect((await inspector.stats('foreign')).deadLetterLength).toBe(1));
    expect(handled).toEqual([1]);
    const [dead] = await inspector.deadLetters('foreign');
    expect(dead?.error).toMatch(/malformed entry/);
    expect(dead?.fields).toEqual({ something: 'else' });
  });

  it('finishes and acks in-flight entries on graceful shutdown', async () => {
    for (let n = 0; n < 40; n++) await producer.publish('graceful', 'job', { n });
    let started = 0;
    let finished = 0;
    const consumer = await consume<{ n: number }>({
      stream: 'graceful',
      group: 'g',
      concurrency: 8,
      handler: async () => {
        started += 1;
        await sleep(150);
        finished += 1;
      },
    });
    await eventually(() => expect(started).toBeGreaterThanOrEqual(8));
    await consumer.stop();
    expect(finished).toBe(started);
    expect(started).toBeLessThan(40);
    const stats = await inspector.stats('graceful');
    expect(stats.groups[0]?.pending).toBe(0);
    expect(stats.groups[0]?.lag).toBe(40 - started);
  });

  it('replaces a reading connection that ioredis ended without being asked, and keeps consuming', async () => {
    const handled = new Set<number>();
    const consumer = await consume<{ n: number }>({
      stream: 'ended-reader',
      group: 'g',
      handler: (message) => void handled.add(message.data.n),
    });
    await producer.publish('ended-reader', 'job', { n: 0 });
    await eventually(() => expect(handled.has(0)).toBe(true));
    // disconnect() ends it the way ioredis does when a Sentinel failover notice closes it mid-connect
    // (a Cluster client stays 'close').
    const holder = consumer as unknown as { reader: RedisConnection['client'] };
    const ended = holder.reader;
    ended.disconnect();
    for (let n = 1; n <= 5; n++) await producer.publish('ended-reader', 'job', { n });
    await eventually(() => expect([...handled].sort()).toEqual([0, 1, 2, 3, 4, 5]), 10_000);
    expect(holder.reader).not.toBe(ended);
  });

  it('takes over the entries of a consumer that died (XAUTOCLAIM) and counts trimmed ones', async () => {
    const key = producer.keyOf('claim');
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) ids.push(await producer.publish('claim', 'job', { n }));
    await connection.client.xgroup('CREATE', key, 'g', '0');
    // A consumer that reads and dies: its entries stay pending.
    await connection.client.xreadgroup('GROUP', 'g', 'dead-one', 'COUNT', 6, 'STREAMS', key, '>');
    await connection.client.xdel(key, ids[0] as string, ids[1] as string);
    const settled: string[] = [];
    const handled: number[] = [];
    await consume<{ n: number }>({
      stream: 'claim',
      group: 'g',
      claimIdleMs: 300,
      claimIntervalMs: 100,
      handler: (message) => {
        expect(message.deliveries).toBe(2);
        handled.push(message.data.n);
      },
      onSettled: (_message, outcome) => settled.push(outcome),
    });
    await eventually(async () => expect((await inspector.stats('claim')).groups[0]?.pending).toBe(0));
    expect(handled.sort()).toEqual([2, 3, 4, 5]);
    expect(settled.filter((outcome) => outcome === 'deleted')).toHaveLength(2);
    expect(await metricValue(metrics, 'redkit_stream_messages_total{stream="claim",outcome="deleted"}')).toBe(
      2,
    );
  });

  it('dead-letters, without running it again, an entry whose consumers kept dying on it', async () => {
    const key = producer.keyOf('crasher');
    await producer.publish('crasher', 'job', { n: 1 });
    await connection.client.xgroup('CREATE', key, 'g', '0');
    await connection.client.xreadgroup('GROUP', 'g', 'dead-1', 'COUNT', 1, 'STREAMS', key, '>');
    // Two more consumers took it over and died too: 3 deliveries so far.
    const [[id]] = (await connection.client.xrange(key, '-', '+')) as [[string, string[]]];
    await connection.client.xclaim(key, 'g', 'dead-2', 0, id);
    await connection.client.xclaim(key, 'g', 'dead-3', 0, id);
    let ran = 0;
    await consume({
      stream: 'crasher',
      group: 'g',
      maxDeliveries: 3,
      claimIdleMs: 100,
      claimIntervalMs: 50,
      handler: () => void (ran += 1),
    });
    await eventually(async () => expect((await inspector.stats('crasher')).deadLetterLength).toBe(1));
    expect(ran).toBe(0);
    const [dead] = await inspector.deadLetters('crasher');
    expect(dead?.deliveries).toBe(4);
    expect(dead?.error).toMatch(/without being settled/);
  });

  it('removes consumers of stopped processes that have nothing pending', async () => {
    const key = producer.keyOf('tidy');
    await producer.publish('tidy', 'job', { n: 1 });
    await connection.client.xgroup('CREATE', key, 'g', '$');
    await connection.client.call('XGROUP', 'CREATECONSUMER', key, 'g', 'long-gone');
    await producer.publish('tidy', 'job', { n: 2 });
    await connection.client.xreadgroup('GROUP', 'g', 'still-holding', 'COUNT', 1, 'STREAMS', key, '>');
    await sleep(60);
    await consume({
      stream: 'tidy',
      group: 'g',
      consumer: 'me',
      claimIdleMs: 60_000,
      claimIntervalMs: 20,
      deleteIdleConsumersAfterMs: 50,
      handler: () => undefined,
    });
    await eventually(async () => {
      const consumers = (await connection.client.xinfo('CONSUMERS', key, 'g')) as unknown[][];
      // 'me' itself appears once it has read something (Redis 7.0 does not create it on an empty blocking read).
      const names = consumers.map((flat) => flat[1]);
      expect(names).toContain('still-holding');
      expect(names).not.toContain('long-gone');
    });
  });

  it('reports stream length, lag, pending and dead-letter length', async () => {
    for (let n = 0; n < 5; n++) await producer.publish('stats', 'job', { n });
    const empty = await inspector.stats('nothing-here');
    expect(empty).toMatchObject({ stream: 'nothing-here', length: 0, deadLetterLength: 0, groups: [] });
    expect(empty.lanes.map((lane) => [lane.priority, lane.length, lane.pending])).toEqual([
      ['critical', 0, 0],
      ['high', 0, 0],
      ['normal', 0, 0],
      ['low', 0, 0],
    ]);
    const key = producer.keyOf('stats');
    await connection.client.xgroup('CREATE', key, 'reporting', '0');
    await connection.client.xreadgroup('GROUP', 'reporting', 'c', 'COUNT', 2, 'STREAMS', key, '>');
    const stats = await inspector.stats('stats');
    expect(stats.length).toBe(5);
    expect(stats.groups).toEqual([
      expect.objectContaining({ name: 'reporting', consumers: 1, pending: 2, lag: 3 }),
    ]);
  });

  it('trims streams approximately to maxLen', async () => {
    for (let n = 0; n < 500; n++) await producer.publish('trimmed', 'job', { n }, { maxLen: 100 });
    const { length } = await inspector.stats('trimmed');
    expect(length).toBeLessThan(500);
    expect(length).toBeGreaterThanOrEqual(100);
  });

  it('runs work once per id with the idempotency store, and again after a failure', async () => {
    const store = new IdempotencyStore(connection);
    let runs = 0;
    const work = async () => (runs += 1);
    expect(await store.runOnce('billing', 'e-1', work)).toEqual({ ran: true, result: 1 });
    expect(await store.runOnce('billing', 'e-1', work)).toEqual({ ran: false });
    expect(await store.isProcessed('billing', 'e-1')).toBe(true);
    await expect(store.runOnce('billing', 'e-2', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await store.runOnce('billing', 'e-2', work)).toEqual({ ran: true, result: 2 });
    expect(await store.markProcessed('billing', 'e-3', 50)).toBe(true);
    await eventually(async () => expect(await store.isProcessed('billing', 'e-3')).toBe(false));
  });
});
