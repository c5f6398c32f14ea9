import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { RedisConnection, type RedisModuleOptions } from '@redkit/redis';
import { Redis } from 'ioredis';

import {
  RedisClusterServers,
  RedisServer,
  clientNames,
  eventually,
  sharedClusterNodes,
  sharedRedisUrl,
} from '../../../test/harness/index.js';
import {
  PubSubInvalidationTransport,
  type InvalidationErrorOperation,
} from './pubsub-invalidation.transport.js';
import { RecordingTarget } from './recording-l1-target.spec-helper.js';

/** One application instance: its main connection, its L1 and its transport. */
interface Instance {
  connection: RedisConnection;
  target: RecordingTarget;
  errors: Array<{ op: InvalidationErrorOperation; error: unknown }>;
  transport: PubSubInvalidationTransport;
}

/**
 * How long a test waits for a message to reach another instance. Delivery takes about a
 * millisecond; the wait is generous because a loaded CI machine (three suites side by side on two
 * cores) stalls processes for longer than any latency claim a test could make (speed is the bench's job).
 */
const DELIVERY_MS = 2_000;

const opened: Instance[] = [];

async function openInstance(
  name: string,
  channel: string,
  options: RedisModuleOptions,
  start = true,
): Promise<Instance> {
  const connection = await RedisConnection.open(name, { clientName: name, ...options });
  const target = new RecordingTarget();
  const errors: Instance['errors'] = [];
  const transport = new PubSubInvalidationTransport({
    client: connection.client,
    channel,
    instanceId: name,
    target,
    onError: (op, error) => errors.push({ op, error }),
  });
  const instance = { connection, target, errors, transport };
  opened.push(instance);
  if (start) await transport.start();
  return instance;
}

async function closeAll(): Promise<void> {
  const instances = opened.splice(0);
  await Promise.all(instances.map(({ transport }) => transport.stop()));
  await Promise.all(instances.map(({ connection }) => connection.close()));
}

/** Rejects unless `promise` settles within `ms`: the bound a test states, not a timing measurement. */
async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function sharedChannel(): string {
  return `redkit-test:invalidate:${randomUUID()}`;
}

describe('PubSubInvalidationTransport on a standalone server', () => {
  let a: Instance;
  let b: Instance;
  let channel: string;

  beforeAll(async () => {
    channel = sharedChannel();
    a = await openInstance('a', channel, { url: sharedRedisUrl() });
    b = await openInstance('b', channel, { url: sharedRedisUrl() });
  });

  afterAll(closeAll);

  afterEach(() => {
    a.target.drops.length = 0;
    b.target.drops.length = 0;
  });

  it("delivers A's publishKeys to B, and A ignores its own message", async () => {
    await a.transport.publishKeys(['redkit:cache:default:user%3A42', 'redkit:cache:default:user%3A43']);
    await eventually(
      () =>
        expect(b.target.drops).toEqual([
          { keys: ['redkit:cache:default:user%3A42', 'redkit:cache:default:user%3A43'] },
        ]),
      DELIVERY_MS,
      5,
    );
    // B publishes after A's PUBLISH was answered, so A's subscriber sees A's message before B's.
    await b.transport.publishKeys(['marker']);
    await eventually(() => expect(a.target.drops).toContainEqual({ keys: ['marker'] }), DELIVERY_MS, 5);
    expect(a.target.drops).toEqual([{ keys: ['marker'] }]);
  });

  it("delivers A's publishPrefix to B", async () => {
    await a.transport.publishPrefix('redkit:cache:default:');
    await eventually(
      () => expect(b.target.drops).toEqual([{ prefix: 'redkit:cache:default:' }]),
      DELIVERY_MS,
      5,
    );
  });

  it('sends nothing for an empty list of keys', async () => {
    await a.transport.publishKeys([]);
    await a.transport.publishKeys(['marker']);
    await eventually(() => expect(b.target.drops).toEqual([{ keys: ['marker'] }]), DELIVERY_MS, 5);
  });

  it('ignores malformed messages, reports each of them, and keeps delivering', async () => {
    b.errors.length = 0;
    const malformed = [
      'not json',
      '42',
      'null',
      '{"k":["no-sender"]}',
      '{"o":"x"}',
      '{"o":"x","k":[1]}',
      '{"o":"x","k":"not-an-array"}',
      '{"o":"x","p":7}',
    ];
    for (const message of malformed) await a.connection.client.publish(channel, message);
    await a.transport.publishKeys(['after-malformed']);
    await eventually(() => expect(b.target.drops).toEqual([{ keys: ['after-malformed'] }]), DELIVERY_MS, 5);
    expect(b.errors).toHaveLength(malformed.length);
    for (const { op, error } of b.errors) {
      expect(op).toBe('subscribe');
      expect(String(error)).toContain('malformed invalidation message');
    }
  });

  it('accepts a well-formed message from any sender, keys and prefix at once', async () => {
    await a.connection.client.publish(channel, JSON.stringify({ o: 'someone-else', k: ['k1'], p: 'p:' }));
    await eventually(
      () => expect(b.target.drops).toEqual([{ keys: ['k1'] }, { prefix: 'p:' }]),
      DELIVERY_MS,
      5,
    );
  });

  it('subscribes on a connection of its own, named after the main one', async () => {
    const names = await clientNames(sharedRedisUrl());
    expect(names).toEqual(expect.arrayContaining(['a', 'a-cache-invalidation', 'b', 'b-cache-invalidation']));
  });
});

describe('PubSubInvalidationTransport on the 3-master cluster', () => {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    const channel = sharedChannel();
    a = await openInstance('cluster-a', channel, { cluster: { nodes: sharedClusterNodes() } });
    b = await openInstance('cluster-b', channel, { cluster: { nodes: sharedClusterNodes() } });
  });

  afterAll(closeAll);

  it("delivers A's keys and prefix to B, and A ignores its own messages", async () => {
    await a.transport.publishKeys(['redkit:cache:default:x']);
    await a.transport.publishPrefix('redkit:cache:default:');
    // Through a cluster, two PUBLISHes may take different nodes and arrive in either order; drops
    // are idempotent, so only what arrived matters.
    await eventually(
      async () => {
        expect(b.target.drops).toHaveLength(2);
        expect(b.target.drops).toEqual(
          expect.arrayContaining([{ keys: ['redkit:cache:default:x'] }, { prefix: 'redkit:cache:default:' }]),
        );
      },
      DELIVERY_MS,
      5,
    );
    await b.transport.publishKeys(['marker']);
    await eventually(() => expect(a.target.drops).toContainEqual({ keys: ['marker'] }), DELIVERY_MS, 5);
    expect(a.target.drops).toEqual([{ keys: ['marker'] }]);
  });
});

describe('PubSubInvalidationTransport when the server fails', () => {
  let server: RedisServer;
  let a: Instance;
  let b: Instance;
  const commandTimeoutMs = 300;
  let options: RedisModuleOptions;

  beforeAll(async () => {
    server = await RedisServer.start();
    options = { url: server.url, commandTimeoutMs, connectTimeoutMs: 1_000, reconnectMaxDelayMs: 200 };
    const channel = sharedChannel();
    a = await openInstance('fault-a', channel, options);
    b = await openInstance('fault-b', channel, options);
  });

  afterAll(async () => {
    if (server?.running) server.resume();
    await closeAll();
    await server?.stop();
  });

  it('resolves a publish to a paused server once the command timeout passes, and reports it', async () => {
    a.errors.length = 0;
    server.pause();
    try {
      await expect(
        settlesWithin(a.transport.publishKeys(['k']), commandTimeoutMs + 1_000),
      ).resolves.toBeUndefined();
      await expect(
        settlesWithin(a.transport.publishPrefix('p:'), commandTimeoutMs + 1_000),
      ).resolves.toBeUndefined();
    } finally {
      server.resume();
    }
    expect(a.errors.map(({ op }) => op)).toEqual(['publish', 'publish']);
    expect(String(a.errors[0].error)).toContain('timed out');
  });

  it('resolves a publish while the server is down, drops all of L1 once back, and delivers again', async () => {
    a.errors.length = 0;
    b.target.drops.length = 0;
    await server.kill();
    try {
      await eventually(() => expect(a.connection.client.status).not.toBe('ready'));
      await expect(
        settlesWithin(a.transport.publishKeys(['lost']), commandTimeoutMs + 1_000),
      ).resolves.toBeUndefined();
      expect(a.errors.map(({ op }) => op)).toContain('publish');
    } finally {
      await server.restart();
    }
    await eventually(() => expect(b.target.drops).toContainEqual({ all: true }));
    await eventually(async () => {
      await a.transport.publishKeys(['after-restart']);
      expect(b.target.drops).toContainEqual({ keys: ['after-restart'] });
    });
    expect(b.target.drops).not.toContainEqual({ keys: ['lost'] });
  });

  it('drops all of L1 when only its subscriber connection is killed, and delivers again', async () => {
    b.target.drops.length = 0;
    const admin = new Redis(server.url, { lazyConnect: true, retryStrategy: null, maxRetriesPerRequest: 0 });
    try {
      await admin.connect();
      // Both subscribers listen (after the previous test's restart, one may still be backing off).
      await eventually(async () => {
        const listening = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
        expect(listening.trim().split('\n').length).toBeGreaterThanOrEqual(2);
      });
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(2);
    } finally {
      admin.disconnect();
    }
    await eventually(() => expect(b.target.drops).toContainEqual({ all: true }));
    await eventually(async () => {
      await a.transport.publishKeys(['after-kill']);
      expect(b.target.drops).toContainEqual({ keys: ['after-kill'] });
    });
  });

  it('rejects start() when Redis is unreachable, keeps trying, and drops all of L1 once it listens', async () => {
    const channel = sharedChannel();
    await server.kill();
    const late = await openInstance('late', channel, { ...options, startup: 'background' }, false);
    try {
      await expect(late.transport.start()).rejects.toThrow(/not listening within \d+ ms/);
    } finally {
      await server.restart();
    }
    await eventually(() => expect(late.target.drops).toEqual([{ all: true }]));
    const writer = await openInstance('writer', channel, options);
    await eventually(async () => {
      await writer.transport.publishKeys(['to-late']);
      expect(late.target.drops).toContainEqual({ keys: ['to-late'] });
    });
  });

  it('closes its subscriber connection on stop()', async () => {
    const channel = sharedChannel();
    const instance = await openInstance('stopping', channel, options);
    expect(await clientNames(server.url)).toContain('stopping-cache-invalidation');
    await instance.transport.stop();
    await eventually(async () =>
      expect(await clientNames(server.url)).not.toContain('stopping-cache-invalidation'),
    );
    await expect(instance.transport.start()).rejects.toThrow('stopped');
  });
});

describe('PubSubInvalidationTransport on a cluster that loses the subscriber node', () => {
  let cluster: RedisClusterServers;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start();
    const options: RedisModuleOptions = {
      cluster: { nodes: cluster.nodes },
      commandTimeoutMs: 500,
      connectTimeoutMs: 1_000,
      reconnectMaxDelayMs: 200,
    };
    const channel = sharedChannel();
    a = await openInstance('node-a', channel, options);
    b = await openInstance('node-b', channel, options);
  });

  afterAll(async () => {
    await closeAll();
    await cluster?.stop();
  });

  it('moves the subscriber to another node, drops all of L1, and delivers again', async () => {
    const names = await Promise.all(cluster.servers.map((server) => clientNames(server.url)));
    const index = names.findIndex((list) => list.includes('node-b-cache-invalidation'));
    expect(index).toBeGreaterThanOrEqual(0);
    const node = cluster.servers[index];
    await node.kill();
    try {
      await eventually(() => expect(b.target.drops).toContainEqual({ all: true }));
      await eventually(async () => {
        await a.transport.publishKeys(['after-failover']);
        expect(b.target.drops).toContainEqual({ keys: ['after-failover'] });
      });
    } finally {
      await node.restart();
    }
  });
});
