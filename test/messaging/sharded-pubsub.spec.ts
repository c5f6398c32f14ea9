import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventBus, MessagingOptionsError, type EventEnvelope, type ReconnectInfo } from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import {
  clusterKeySlot,
  DedicatedSubscriber,
  type RedisConnection,
  type RedisModuleOptions,
} from '@redkit/redis';
import { Redis } from 'ioredis';

import { eventually, RedisClusterServers, sharedAdminRedisUrl, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, metricValue, open, uniquePrefix } from './messaging-test-kit.js';

/** Calls of each command so far on one server, from INFO commandstats. */
async function commandCalls(admin: Redis, ...commands: string[]): Promise<number[]> {
  const info = await admin.info('commandstats');
  return commands.map((command) =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0),
  );
}

/** What each admin's server counted of `commands` since `before` (one row per server). */
async function callsSince(admins: Redis[], before: number[][], ...commands: string[]): Promise<number[][]> {
  const after = await Promise.all(admins.map((admin) => commandCalls(admin, ...commands)));
  return after.map((row, server) => row.map((calls, index) => calls - (before[server]?.[index] ?? 0)));
}

/** Publishes `type` until `received` holds an event of it: right after a restart the bus may not listen yet. */
async function publishUntilReceived(bus: EventBus, received: EventEnvelope[], type: string): Promise<void> {
  await eventually(
    async () => {
      await bus.publish(type, { at: Date.now() }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(received.map((event) => event.type)).toContain(type);
    },
    20_000,
    50,
  );
}

describe('the event bus on a 3-master cluster (sharded pub/sub)', () => {
  const keyPrefix = uniquePrefix('sharded');
  let cluster: RedisClusterServers;
  let admins: Redis[];
  let redis: RedisModuleOptions;
  let connection: RedisConnection;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start();
    admins = cluster.servers.map(({ url }) => new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 }));
    redis = { cluster: { nodes: cluster.nodes }, reconnectMaxDelayMs: 200 };
    connection = await open(redis, keyPrefix, 'sharded-bus');
  });

  afterAll(async () => {
    await connection?.close();
    for (const admin of admins ?? []) admin.disconnect();
    await cluster?.stop();
  });

  /** The index of the master that owns the shard channel `type` is published on. */
  async function ownerOfType(bus: EventBus, type: string): Promise<number> {
    return cluster.ownerOf(clusterKeySlot(bus.channelOf(type)));
  }

  it('delivers to exact and pattern subscribers, keeps one type in order, and SPUBLISHes on the owner only', async () => {
    const bus = new EventBus(connection, { source: 'test' });
    try {
      expect(bus.publishesSharded).toBe(true);
      const exact: EventEnvelope[] = [];
      const market: EventEnvelope[] = [];
      const all: EventEnvelope[] = [];
      await bus.subscribe('trade.executed', (event) => void exact.push(event));
      await bus.subscribe('market.*', (event) => void market.push(event));
      await bus.subscribe('*', (event) => void all.push(event));
      const owner = await ownerOfType(bus, 'market.BTC-USD');
      const before = await Promise.all(admins.map((admin) => commandCalls(admin, 'spublish', 'publish')));

      const sent = await bus.publish('trade.executed', { price: '1.5' });
      const ticks = await Promise.all(
        Array.from({ length: 50 }, (_, seq) => bus.publish('market.BTC-USD', { seq })),
      );
      await bus.publish('market.ETH-USD', { seq: 0 });
      await bus.publish('other.thing', {});

      await eventually(() => {
        expect(exact).toEqual([sent]);
        expect(market).toHaveLength(51);
        expect(all).toHaveLength(53);
      });
      // One type lives on one shard channel, so its events arrive in the order they were published.
      const btc = market.filter((event) => event.type === 'market.BTC-USD');
      expect(btc.map((event) => event.id)).toEqual(ticks.map((event) => event.id));
      expect(btc.map((event) => (event.data as { seq: number }).seq)).toEqual(ticks.map((_, seq) => seq));
      // Every event went out as SPUBLISH, none as PUBLISH, and market.BTC-USD's only to its owner.
      const calls = await callsSince(admins, before, 'spublish', 'publish');
      expect(calls.reduce((sum, [spublish]) => sum + (spublish ?? 0), 0)).toBe(53);
      expect(calls.map(([, publish]) => publish)).toEqual([0, 0, 0]);
      expect(calls[owner]?.[0]).toBeGreaterThanOrEqual(50);
    } finally {
      await bus.close();
    }
  });

  it('publishes on the bucket any Redis client can compute: CLUSTER KEYSLOT <type> mod eventBuckets', async () => {
    const bus = new EventBus(connection, { source: 'test', eventBuckets: 8 });
    const received: EventEnvelope[] = [];
    try {
      await bus.subscribe('order.placed', (event) => void received.push(event));
      const [admin] = admins as [Redis];
      const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', 'order.placed'));
      const channel = `${keyPrefix}:messaging:events:~${slot % 8}`;
      expect(bus.channelOf('order.placed')).toBe(channel);
      // As another language's service would: SPUBLISH of an envelope on that channel, to its owner.
      const envelope = {
        id: 'from-elsewhere',
        type: 'order.placed',
        time: new Date().toISOString(),
        correlationId: 'from-elsewhere',
        source: 'python',
        data: { orderId: 'o-1' },
      };
      await connection.client.spublish(channel, JSON.stringify(envelope));
      await eventually(() => expect(received).toEqual([envelope]));
    } finally {
      await bus.close();
    }
  });

  it('counts a message of a type that does not hash to its bucket as malformed', async () => {
    const metrics = new MetricsService();
    const bus = new EventBus(connection, { source: 'test' }, metrics);
    const received: unknown[] = [];
    try {
      await bus.subscribe('*', (event) => void received.push(event.data));
      // 'b' and 'bad.input' hash to buckets 4 and 1 of 16 (CLUSTER KEYSLOT 3300 and 10433).
      const misplaced = { ...(await bus.publish('b', 'right bucket')), type: 'bad.input' };
      await connection.client.spublish(bus.channelOf('b'), JSON.stringify(misplaced));
      await connection.client.spublish(bus.channelOf('b'), 'not json');
      await bus.publish('b', 'still listening');
      await eventually(async () => {
        expect(received).toEqual(['right bucket', 'still listening']);
        expect(await metricValue(metrics, 'redkit_events_malformed_total')).toBe(2);
      });
    } finally {
      await bus.close();
    }
  });

  it('keeps classic PUBLISH and PSUBSCRIBE with shardedPubSub: false', async () => {
    const bus = new EventBus(connection, { source: 'test', shardedPubSub: false });
    const received: EventEnvelope[] = [];
    try {
      expect(bus.publishesSharded).toBe(false);
      expect(bus.channelOf('trade.executed')).toBe(`${keyPrefix}:messaging:events:trade.executed`);
      await bus.subscribe('trade.*', (event) => void received.push(event));
      const before = await Promise.all(admins.map((admin) => commandCalls(admin, 'spublish', 'publish')));
      await bus.publish('trade.executed', {});
      await eventually(() => expect(received).toHaveLength(1));
      const calls = await callsSince(admins, before, 'spublish', 'publish');
      expect(calls.map(([spublish]) => spublish)).toEqual([0, 0, 0]);
      expect(calls.reduce((sum, [, publish]) => sum + (publish ?? 0), 0)).toBe(1);
    } finally {
      await bus.close();
    }
  });

  it('listens with nothing subscribed yet, so that polling while disconnected can start', async () => {
    const bus = new EventBus(connection, { source: 'test' });
    try {
      const stop = bus.pollWhileDisconnected(() => undefined, { everyMs: 1_000 });
      await eventually(() => expect(bus.isListening).toBe(true));
      stop();
    } finally {
      await bus.close();
    }
  });

  it('refuses bad sharding options, naming them', () => {
    expect(() => new EventBus(connection, { eventBuckets: 0 })).toThrow(MessagingOptionsError);
    expect(() => new EventBus(connection, { eventBuckets: 0 })).toThrow(
      'messaging option "eventBuckets" must be a whole number from 1 to 1024, got 0',
    );
    expect(() => new EventBus(connection, { eventBuckets: 2.5 })).toThrow(/"eventBuckets"/);
    expect(() => new EventBus(connection, { shardedPubSub: 'yes' as unknown as boolean })).toThrow(
      'messaging option "shardedPubSub" must be a boolean, got "yes"',
    );
  });

  it('subscribes again by itself after the master owning a bucket restarts, and counts it', async () => {
    const metrics = new MetricsService();
    const reconnects: ReconnectInfo[] = [];
    const bus = new EventBus(
      connection,
      { source: 'test', onReconnect: (info) => void reconnects.push(info) },
      metrics,
    );
    const received: EventEnvelope[] = [];
    try {
      await bus.subscribe('order.placed', (event) => void received.push(event));
      await bus.subscribe('order.*', (event) => void received.push(event));
      await publishUntilReceived(bus, received, 'order.placed');
      await cluster.restartNode(await ownerOfType(bus, 'order.placed'));
      await eventually(() => expect(reconnects).toHaveLength(1), 20_000);
      expect(await metricValue(metrics, 'redkit_events_resubscriptions_total')).toBe(1);
      received.length = 0;
      await publishUntilReceived(bus, received, 'order.placed');
      await publishUntilReceived(bus, received, 'order.cancelled');
      expect(bus.isListening).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it('follows a bucket whose slot moves to another master: subscribed there, counted, delivered', async () => {
    const metrics = new MetricsService();
    const bus = new EventBus(connection, { source: 'test' }, metrics);
    const received: EventEnvelope[] = [];
    try {
      await bus.subscribe('settlement.done', (event) => void received.push(event));
      await bus.subscribe('*', (event) => void received.push(event));
      await publishUntilReceived(bus, received, 'settlement.done');
      const channel = bus.channelOf('settlement.done');
      const slot = clusterKeySlot(channel);
      const from = await cluster.ownerOf(slot);
      const to = (from + 1) % cluster.servers.length;
      await cluster.moveSlot(slot, to);
      // Redis unsubscribes the old owner's subscribers of the slot; the bus subscribes at the new owner.
      await eventually(
        async () => expect(await metricValue(metrics, 'redkit_events_resubscriptions_total')).toBe(1),
        20_000,
      );
      const subscribers = (admin: Redis) =>
        admin.call('PUBSUB', 'SHARDNUMSUB', channel) as Promise<[string, number]>;
      expect((await subscribers(admins[to] as Redis))[1]).toBe(1);
      expect((await subscribers(admins[from] as Redis))[1]).toBe(0);
      received.length = 0;
      await publishUntilReceived(bus, received, 'settlement.done');
      expect(received.filter((event) => event.type === 'settlement.done').length).toBeGreaterThanOrEqual(2);
      expect(bus.isListening).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it("subscribes a new type at its slot's owner when the client's slot map is stale (MOVED)", async () => {
    const bus = new EventBus(connection, { source: 'test' });
    const received: EventEnvelope[] = [];
    try {
      const channel = bus.channelOf('late.type');
      const slot = clusterKeySlot(channel);
      const from = await cluster.ownerOf(slot);
      const to = (from + 2) % cluster.servers.length;
      // Behind the client's back: its slot map still names the old owner, which answers SSUBSCRIBE with MOVED.
      await cluster.moveSlot(slot, to);
      await bus.subscribe('late.type', (event) => void received.push(event));
      await publishUntilReceived(bus, received, 'late.type');
      const subscribers = (await (admins[to] as Redis).call('PUBSUB', 'SHARDNUMSUB', channel)) as [
        string,
        number,
      ];
      expect(subscribers[1]).toBe(1);
    } finally {
      await bus.close();
    }
  });
});

describe('the event bus on a standalone server', () => {
  const keyPrefix = uniquePrefix('unsharded');
  let connection: RedisConnection;
  let admin: Redis;

  beforeAll(async () => {
    connection = await open({ url: sharedRedisUrl() }, keyPrefix, 'standalone-bus');
    admin = new Redis(sharedAdminRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await deleteKeys(connection, keyPrefix);
    await connection?.close();
    admin?.disconnect();
  });

  it('still uses PUBLISH on the type channel, whatever shardedPubSub says', async () => {
    const bus = new EventBus(connection, { source: 'test', shardedPubSub: true });
    const received: EventEnvelope[] = [];
    try {
      expect(bus.publishesSharded).toBe(false);
      expect(bus.channelOf('trade.executed')).toBe(`${keyPrefix}:messaging:events:trade.executed`);
      await bus.subscribe('trade.*', (event) => void received.push(event));
      const before = await commandCalls(admin, 'spublish', 'publish');
      await bus.publish('trade.executed', {});
      await eventually(() => expect(received).toHaveLength(1));
      const [[spublish, publish]] = (await callsSince([admin], [before], 'spublish', 'publish')) as [
        number[],
      ];
      expect(spublish).toBe(0);
      // Other test files may publish on the shared server meanwhile: at least ours.
      expect(publish).toBeGreaterThanOrEqual(1);
    } finally {
      await bus.close();
    }
  });

  it('gives a sharded DedicatedSubscriber what is SPUBLISHed there, on its one connection', async () => {
    const channel = `${keyPrefix}:shard-test`;
    const messages: string[] = [];
    const subscriber = new DedicatedSubscriber({
      client: connection.client,
      role: 'shard-test',
      sharded: true,
      onMessage: (from, message) => void messages.push(`${from} ${message}`),
    });
    try {
      await subscriber.start();
      await subscriber.subscribe(channel);
      await expect(subscriber.psubscribe(`${channel}*`)).rejects.toThrow(/no pattern form/);
      // The classic message goes first: had it reached the subscriber, it would come before the other.
      await connection.client.publish(channel, 'classic');
      await connection.client.spublish(channel, 'sharded');
      await eventually(() => expect(messages).toEqual([`${channel} sharded`]));
    } finally {
      await subscriber.stop();
    }
  });
});
