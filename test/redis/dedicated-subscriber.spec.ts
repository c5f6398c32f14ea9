import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  DedicatedSubscriber,
  DedicatedSubscriberError,
  RedisConnection,
  type DedicatedSubscriberOptions,
  type RedisModuleOptions,
} from '@redkit/redis';
import { Redis } from 'ioredis';

import {
  RedisClusterServers,
  RedisServer,
  clientNames,
  eventually,
  sharedTopologies,
  sleep,
} from '../harness/index.js';

/** What one subscriber saw, in order. */
interface Recorder {
  messages: string[];
  listening: boolean[];
  lost: Error[];
  errors: unknown[];
}

function recorder(): Recorder {
  return { messages: [], listening: [], lost: [], errors: [] };
}

/** Options that record everything into `seen`: string, pattern and raw messages alike. */
function recording(seen: Recorder, options: DedicatedSubscriberOptions): DedicatedSubscriberOptions {
  return {
    onMessage: (channel, message) => void seen.messages.push(`${channel} ${message}`),
    onPatternMessage: (pattern, channel, message) =>
      void seen.messages.push(`${pattern} ${channel} ${message}`),
    onMessageBuffer: (channel, message) =>
      void seen.messages.push(`buffer ${channel.toString()} ${Buffer.isBuffer(message)}`),
    onListening: (again) => void seen.listening.push(again),
    onLost: (error) => void seen.lost.push(error),
    onError: (error) => void seen.errors.push(error),
    ...options,
  };
}

const connections: RedisConnection[] = [];
const subscribers: DedicatedSubscriber[] = [];

async function openConnection(name: string, options: RedisModuleOptions): Promise<RedisConnection> {
  const connection = await RedisConnection.open(name, { clientName: name, ...options });
  connections.push(connection);
  return connection;
}

function subscriberOf(options: DedicatedSubscriberOptions): DedicatedSubscriber {
  const subscriber = new DedicatedSubscriber(options);
  subscribers.push(subscriber);
  return subscriber;
}

async function closeAll(): Promise<void> {
  await Promise.all(subscribers.splice(0).map((subscriber) => subscriber.stop()));
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
}

/** PUBSUB NUMSUB of `channels` on one server, as "channel,count,..." */
async function subscriptionsOn(url: string, ...channels: string[]): Promise<string> {
  // A server that has just restarted may close a brand-new connection on a loaded machine: ask again.
  for (let attempt = 1; ; attempt += 1) {
    const raw = new Redis(url, { lazyConnect: true, retryStrategy: null, maxRetriesPerRequest: 0 });
    try {
      await raw.connect();
      return String(await raw.pubsub('NUMSUB', ...channels));
    } catch (error) {
      if (attempt === 3) throw error;
      await sleep(50);
    } finally {
      raw.disconnect();
    }
  }
}

/** Publishes until `seen` holds `expected`: right after a reconnect the subscriber may not listen yet. */
async function publishUntilSeen(
  connection: RedisConnection,
  seen: Recorder,
  channel: string,
  message: string,
  expected = `${channel} ${message}`,
): Promise<void> {
  await eventually(
    async () => {
      await connection.client.publish(channel, message).catch(() => undefined);
      await sleep(20);
      expect(seen.messages).toContain(expected);
    },
    15_000,
    50,
  );
}

// No test here listens for unhandled rejections itself: jest fails the test during which one occurs.

describe.each(sharedTopologies)('DedicatedSubscriber on %s', (name, topology) => {
  const tag = name.startsWith('a standalone') ? 'standalone' : 'cluster';
  let connection: RedisConnection;

  beforeAll(async () => {
    connection = await openConnection(`ds-${tag}`, topology());
  });

  afterAll(closeAll);

  it('listens: start() resolves once subscribed, and messages arrive as strings and as buffers', async () => {
    const channel = `ds-test:${randomUUID()}`;
    const seen = recorder();
    const subscriber = subscriberOf(
      recording(seen, {
        client: connection.client,
        role: 'test',
        channels: [channel],
        patterns: [`${channel}:*`],
      }),
    );
    await subscriber.start();
    expect(subscriber.isListening).toBe(true);
    expect(seen.listening).toEqual([false]);
    await connection.client.publish(channel, 'one');
    await connection.client.publish(`${channel}:sub`, 'two');
    await eventually(() =>
      expect(seen.messages).toEqual(
        expect.arrayContaining([
          `${channel} one`,
          `buffer ${channel} true`,
          `${channel}:* ${channel}:sub two`,
        ]),
      ),
    );
    expect(seen.errors).toEqual([]);
  });

  it('subscribes and unsubscribes on the live connection', async () => {
    const channel = `ds-test:${randomUUID()}`;
    const seen = recorder();
    const subscriber = subscriberOf(recording(seen, { client: connection.client, role: 'test' }));
    await subscriber.start();
    await subscriber.subscribe(channel);
    await connection.client.publish(channel, 'after-subscribe');
    await eventually(() => expect(seen.messages).toContain(`${channel} after-subscribe`));
    await subscriber.unsubscribe(channel);
    await subscriber.psubscribe(`${channel}*`);
    await connection.client.publish(channel, 'through-pattern');
    await eventually(() => expect(seen.messages).toContain(`${channel}* ${channel} through-pattern`));
    expect(seen.messages).not.toContain(`${channel} through-pattern`);
  });

  it('stops promptly, closing its connection, and start() rejects afterwards', async () => {
    const subscriber = subscriberOf({
      client: connection.client,
      role: 'stopping',
      channels: ['ds-test:stop'],
    });
    await subscriber.start();
    const before = Date.now();
    await subscriber.stop();
    expect(Date.now() - before).toBeLessThan(1_000);
    expect(subscriber.isListening).toBe(false);
    await expect(subscriber.start()).rejects.toThrow('stopping subscriber was stopped');
  });
});

describe('DedicatedSubscriber when its server fails', () => {
  let server: RedisServer;
  let connection: RedisConnection;
  let options: RedisModuleOptions;

  beforeAll(async () => {
    server = await RedisServer.start();
    options = { url: server.url, commandTimeoutMs: 300, connectTimeoutMs: 1_000, reconnectMaxDelayMs: 200 };
    connection = await openConnection('ds-fault', options);
  });

  afterAll(async () => {
    await closeAll();
    await server?.stop();
  });

  it('is named after the main connection and its role', async () => {
    const subscriber = subscriberOf({ client: connection.client, role: 'named' });
    await subscriber.start();
    expect(await clientNames(server.url)).toContain('ds-fault-named');
    await subscriber.stop();
    await eventually(async () => expect(await clientNames(server.url)).not.toContain('ds-fault-named'));
  });

  it('resubscribes after the server restarts, before onListening(true), with channels added meanwhile', async () => {
    const channel = `ds-test:${randomUUID()}`;
    const seen = recorder();
    let counted: Promise<string> | undefined;
    const subscriber = subscriberOf(
      recording(seen, {
        client: connection.client,
        role: 'restart',
        channels: [channel],
        onListening: (again) => {
          seen.listening.push(again);
          // Asked the moment the hook runs: the server has answered every SUBSCRIBE by then.
          if (again) counted = subscriptionsOn(server.url, channel, `${channel}:late`);
        },
      }),
    );
    await subscriber.start();
    await server.kill();
    await eventually(() => expect(subscriber.isListening).toBe(false));
    await subscriber.subscribe(`${channel}:late`);
    await sleep(300);
    await server.restart();
    await eventually(() => expect(seen.listening).toEqual([false, true]));
    expect(await counted).toBe(`${channel},1,${channel}:late,1`);
    expect(subscriber.isListening).toBe(true);
    expect(seen.lost).toHaveLength(1);
    expect(seen.lost[0]).toBeInstanceOf(DedicatedSubscriberError);
    await publishUntilSeen(connection, seen, channel, 'after-restart');
    await publishUntilSeen(connection, seen, `${channel}:late`, 'added-while-down');
  });

  it('resubscribes when only its connection is killed', async () => {
    const channel = `ds-test:${randomUUID()}`;
    const seen = recorder();
    const subscriber = subscriberOf(
      recording(seen, { client: connection.client, role: 'killed', channels: [channel] }),
    );
    await subscriber.start();
    const admin = new Redis(server.url, { lazyConnect: true, retryStrategy: null, maxRetriesPerRequest: 0 });
    try {
      await admin.connect();
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    } finally {
      admin.disconnect();
    }
    await eventually(() => expect(seen.listening).toEqual([false, true]));
    await publishUntilSeen(connection, seen, channel, 'after-kill');
  });

  it('rejects start() after its bound while Redis is down, reports errors, and listens once it is back', async () => {
    const channel = `ds-test:${randomUUID()}`;
    const seen = recorder();
    await server.kill();
    const subscriber = subscriberOf(
      recording(seen, { client: connection.client, role: 'late', channels: [channel], startTimeoutMs: 500 }),
    );
    try {
      const before = Date.now();
      await expect(subscriber.start()).rejects.toThrow(
        /late subscriber is not listening within 500 ms; last error: .* \(it keeps trying in the background\)/,
      );
      expect(Date.now() - before).toBeLessThan(1_500);
      expect(seen.errors.length).toBeGreaterThan(0);
    } finally {
      await server.restart();
    }
    // Listening after start() gave up is "again": messages published meanwhile were missed.
    await eventually(() => expect(seen.listening).toEqual([true]));
    await publishUntilSeen(connection, seen, channel, 'late');
  });

  it('reports a handler that throws, and keeps delivering', async () => {
    const channel = `ds-test:${randomUUID()}`;
    const errors: unknown[] = [];
    const messages: string[] = [];
    const subscriber = subscriberOf({
      client: connection.client,
      role: 'throwing',
      channels: [channel],
      onMessage: (_channel, message) => {
        messages.push(message);
        if (message === 'boom') throw new Error('handler failed');
      },
      onError: (error) => void errors.push(error),
    });
    await subscriber.start();
    await connection.client.publish(channel, 'boom');
    await connection.client.publish(channel, 'fine');
    await eventually(() => expect(messages).toEqual(['boom', 'fine']));
    expect(errors.map(String)).toEqual(['Error: handler failed']);
  });

  it('stops promptly while reconnecting, and makes no connection afterwards', async () => {
    const subscriber = subscriberOf({
      client: connection.client,
      role: 'stop-down',
      channels: ['ds-test:x'],
    });
    await subscriber.start();
    await server.kill();
    try {
      await eventually(() => expect(subscriber.isListening).toBe(false));
      const before = Date.now();
      await subscriber.stop();
      expect(Date.now() - before).toBeLessThan(1_100);
    } finally {
      await server.restart();
    }
    await eventually(() => expect(connection.client.status).toBe('ready'));
    await sleep(500);
    expect(await clientNames(server.url)).not.toContain('ds-fault-stop-down');
  });
});

describe('DedicatedSubscriber refused by Redis', () => {
  let server: RedisServer;
  let connection: RedisConnection;

  beforeAll(async () => {
    server = await RedisServer.start();
    const admin = new Redis(server.url, { lazyConnect: true, retryStrategy: null, maxRetriesPerRequest: 0 });
    try {
      await admin.connect();
      await admin.call('ACL', 'SETUSER', 'deaf', 'on', '>secret', '~*', '&*', '+@all', '-subscribe');
    } finally {
      admin.disconnect();
    }
    connection = await openConnection('ds-refused', {
      url: server.url,
      username: 'deaf',
      password: 'secret',
      reconnectMaxDelayMs: 100,
    });
  });

  afterAll(async () => {
    await closeAll();
    await server?.stop();
  });

  it('rejects start() at once, saying why, and stops', async () => {
    const subscriber = subscriberOf({
      client: connection.client,
      role: 'refused',
      channels: ['ds-test:refused'],
    });
    await expect(subscriber.start()).rejects.toThrow(/refused subscriber was refused by Redis: NOPERM/);
    await eventually(async () => expect(await clientNames(server.url)).not.toContain('ds-refused-refused'));
  });

  it('with stopWhenRefused false, reports the refusal and keeps retrying', async () => {
    const seen = recorder();
    const subscriber = subscriberOf(
      recording(seen, {
        client: connection.client,
        role: 'retrying',
        channels: ['ds-test:refused'],
        stopWhenRefused: false,
        startTimeoutMs: 2_000,
      }),
    );
    const started = subscriber.start();
    started.catch(() => undefined);
    await eventually(() => expect(seen.errors.length).toBeGreaterThanOrEqual(2));
    expect(String(seen.errors[0])).toContain('NOPERM');
    await subscriber.stop();
    await expect(started).rejects.toThrow('retrying subscriber was stopped before it listened');
  });
});

describe('DedicatedSubscriber on a cluster that loses the subscriber node', () => {
  let cluster: RedisClusterServers;
  let connection: RedisConnection;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start();
    connection = await openConnection('ds-node', {
      cluster: { nodes: cluster.nodes },
      commandTimeoutMs: 500,
      connectTimeoutMs: 1_000,
      reconnectMaxDelayMs: 200,
    });
  });

  afterAll(async () => {
    await closeAll();
    await cluster?.stop();
  });

  it('moves to another master, resubscribes, and says it listens again', async () => {
    const channel = `ds-test:${randomUUID()}`;
    const seen = recorder();
    const subscriber = subscriberOf(
      recording(seen, { client: connection.client, role: 'moving', channels: [channel] }),
    );
    await subscriber.start();
    const names = await Promise.all(cluster.servers.map((server) => clientNames(server.url)));
    const index = names.findIndex((list) => list.includes('ds-node-moving'));
    expect(index).toBeGreaterThanOrEqual(0);
    const node = cluster.servers[index];
    await node.kill();
    try {
      await eventually(() => expect(seen.listening).toEqual([false, true]), 15_000);
      expect(seen.lost).toHaveLength(1);
      await publishUntilSeen(connection, seen, channel, 'after-failover');
    } finally {
      await node.restart();
    }
  });
});
