import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  EventBus,
  StreamConsumer,
  StreamInspector,
  StreamProducer,
  type EventEnvelope,
  type MissedWindow,
  type ReconnectInfo,
} from '@redkit/messaging';
import type { RedisConnection, RedisModuleOptions } from '@redkit/redis';

import { eventually, RedisClusterServers, RedisServer } from '../harness/index.js';
import { open, sleep, uniquePrefix } from './messaging-test-kit.js';

/** Publishes until one arrives: right after a restart the subscriber may still be reconnecting. */
async function publishUntilReceived(bus: EventBus, received: EventEnvelope[], type: string): Promise<void> {
  await eventually(
    async () => {
      await bus.publish(type, { at: Date.now() }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received.some((event) => event.type === type)).toBe(true);
    },
    15_000,
    100,
  );
}

/** Servers a test owns and can kill and restart: one standalone server, or a 3-master cluster. */
interface OwnRedis {
  options: RedisModuleOptions;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function ownStandalone(): Promise<OwnRedis> {
  const server = await RedisServer.start();
  return {
    options: { url: server.url, reconnectMaxDelayMs: 200 },
    kill: () => server.kill(),
    restart: () => server.restart(),
    stop: () => server.stop(),
  };
}

async function ownCluster(): Promise<OwnRedis> {
  const cluster = await RedisClusterServers.start();
  return {
    options: { cluster: { nodes: cluster.nodes }, reconnectMaxDelayMs: 200 },
    kill: async () => {
      for (const server of cluster.servers) await server.kill();
    },
    restart: async () => {
      for (const server of cluster.servers) await server.restart();
    },
    stop: () => cluster.stop(),
  };
}

const topologies: [string, () => Promise<OwnRedis>][] = [
  ['a standalone server', ownStandalone],
  ['a 3-master cluster (every master)', ownCluster],
];

describe.each(topologies)('messaging when %s is killed and restarted', (_name, start) => {
  const keyPrefix = uniquePrefix('faults');
  let server: OwnRedis;
  let connection: RedisConnection;

  beforeAll(async () => {
    server = await start();
    connection = await open(server.options, keyPrefix);
  });

  afterAll(async () => {
    await connection.close();
    await server.stop();
  });

  it('the event bus resubscribes, receives new events and runs the fallback hook', async () => {
    const reconnects: ReconnectInfo[] = [];
    const disconnects: Date[] = [];
    const bus = new EventBus(connection, { onReconnect: (info) => void reconnects.push(info) });
    bus.onDisconnect((at) => void disconnects.push(at));
    const received: EventEnvelope[] = [];
    try {
      await bus.subscribe('price.*', (event) => void received.push(event));
      await bus.subscribe('trade.executed', (event) => void received.push(event));
      await publishUntilReceived(bus, received, 'price.before');

      await server.kill();
      await eventually(() => expect(bus.isListening).toBe(false));
      await server.restart();

      await eventually(() => expect(reconnects).toHaveLength(1), 15_000);
      await publishUntilReceived(bus, received, 'price.after');
      await publishUntilReceived(bus, received, 'trade.executed');
      expect(disconnects).toHaveLength(1);
      const [gap] = reconnects;
      expect(gap?.disconnectedAt.getTime()).toBeLessThanOrEqual(gap?.reconnectedAt.getTime() as number);
    } finally {
      await bus.close();
    }
  });

  it('polls while the bus is down, in windows that overlap by overlapMs, again after a failure, and once more on reconnect', async () => {
    const windows: MissedWindow[] = [];
    const skipped: MissedWindow[] = [];
    let failOnce = true;
    const bus = new EventBus(connection);
    const stop = bus.pollWhileDisconnected(
      (window) => {
        if (failOnce) {
          failOnce = false;
          throw new Error('source of truth busy');
        }
        windows.push(window);
      },
      { everyMs: 20, overlapMs: 30 },
    );
    // A follower's poll: never asked to run, so it never runs.
    bus.pollWhileDisconnected((window) => void skipped.push(window), { everyMs: 20, when: () => false });
    expect(() => bus.pollWhileDisconnected(() => undefined, { everyMs: 0 })).toThrow(/"everyMs"/);
    let down = false;
    try {
      await bus.subscribe('poll.test', () => undefined);
      await eventually(() => expect(bus.isListening).toBe(true));
      await server.kill();
      down = true;
      await eventually(() => expect(windows.length).toBeGreaterThan(2));
      await server.restart();
      down = false;
      await eventually(() => expect(windows.some((window) => window.final)).toBe(true), 15_000);
      stop();
      const finals = windows.filter((window) => window.final);
      expect(finals).toHaveLength(1);
      expect(windows.at(-1)).toBe(finals[0]);
      // Each window reaches 30 ms back before the end of the one before.
      for (let index = 1; index < windows.length; index += 1) {
        expect(windows[index]!.from.getTime()).toBe(windows[index - 1]!.to.getTime() - 30);
      }
      expect(skipped).toEqual([]);
      await sleep(100);
      expect(windows.at(-1)?.final).toBe(true);
    } finally {
      if (down) await server.restart();
      await bus.close();
      // The next test starts with every connection back.
      await eventually(async () => expect(await connection.client.ping()).toBe('PONG'), 15_000);
    }
  });

  it('a stream consumer keeps consuming after the restart, without being restarted', async () => {
    const producer = new StreamProducer(connection);
    const inspector = new StreamInspector(connection);
    const handled = new Set<number>();
    const consumer = new StreamConsumer<{ n: number }>(connection, {
      stream: 'jobs',
      group: 'workers',
      blockMs: 200,
      claimIdleMs: 1_000,
      retryDelayMs: 20,
      handler: (message) => void handled.add(message.data.n),
    });
    await consumer.start();
    try {
      for (let n = 0; n < 10; n++) await producer.publish('jobs', 'job', { n });
      await eventually(() => expect(handled.size).toBe(10));

      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.restart();

      // The restarted server is empty: the stream and the group are gone and must be recreated.
      await eventually(
        async () => {
          await producer.publish('jobs', 'job', { n: 100 });
        },
        10_000,
        100,
      );
      for (let n = 101; n < 110; n++) await producer.publish('jobs', 'job', { n });
      await eventually(() => {
        for (let n = 100; n < 110; n++) expect(handled.has(n)).toBe(true);
      }, 15_000);
      await eventually(async () => expect((await inspector.stats('jobs')).groups[0]?.pending).toBe(0));
      expect(consumer.isRunning).toBe(true);
    } finally {
      await consumer.stop();
    }
  });
});
