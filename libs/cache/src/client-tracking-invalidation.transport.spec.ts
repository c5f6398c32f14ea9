import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection, type RedisModuleOptions } from '@redkit/redis';
import { Redis } from 'ioredis';

import { RedisServer, clientNames, eventually, sharedClusterNodes } from '../../../test/harness/index.js';
import { ClientTrackingInvalidationTransport } from './client-tracking-invalidation.transport.js';
import type { InvalidationErrorOperation } from './pubsub-invalidation.transport.js';
import { RecordingTarget } from './recording-l1-target.spec-helper.js';

interface Instance {
  connection: RedisConnection;
  target: RecordingTarget;
  errors: Array<{ op: InvalidationErrorOperation; error: unknown }>;
  transport: ClientTrackingInvalidationTransport;
}

const PREFIX = 'redkit:cache:';
/**
 * How long a test waits for an invalidation to arrive. Delivery takes about a millisecond; the
 * wait is generous because a loaded CI machine (three suites side by side on two cores) stalls
 * processes for longer than any latency claim a test could make (speed is the bench's job).
 */
const DELIVERY_MS = 2_000;

const opened: Instance[] = [];
const rawClients: Redis[] = [];

async function openInstance(name: string, options: RedisModuleOptions): Promise<Instance> {
  const connection = await RedisConnection.open(name, { clientName: name, ...options });
  const target = new RecordingTarget();
  const errors: Instance['errors'] = [];
  const transport = new ClientTrackingInvalidationTransport({
    client: connection.client,
    prefix: PREFIX,
    target,
    onError: (op, error) => errors.push({ op, error }),
  });
  const instance = { connection, target, errors, transport };
  opened.push(instance);
  await transport.start();
  return instance;
}

/** A client with nothing of redkit in it: the "any writer" the tracking mode promises to hear. */
function rawClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  client.on('error', () => {});
  rawClients.push(client);
  return client;
}

async function closeAll(): Promise<void> {
  const instances = opened.splice(0);
  await Promise.all(instances.map(({ transport }) => transport.stop()));
  await Promise.all(instances.map(({ connection }) => connection.close()));
  closeRawClients();
}

/** Before their server stops: a raw client still reconnecting when disconnected keeps a timer alive. */
function closeRawClients(): void {
  for (const client of rawClients.splice(0)) client.disconnect();
}

describe('ClientTrackingInvalidationTransport', () => {
  let server: RedisServer;
  let options: RedisModuleOptions;
  let b: Instance;
  let c: Instance;
  let writer: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    options = { url: server.url, commandTimeoutMs: 300, connectTimeoutMs: 1_000, reconnectMaxDelayMs: 200 };
    b = await openInstance('tracking-b', options);
    c = await openInstance('tracking-c', options);
    writer = rawClient(server.url);
  });

  afterAll(async () => {
    await closeAll();
    await server?.stop();
  });

  afterEach(() => {
    b.target.drops.length = 0;
    c.target.drops.length = 0;
  });

  it('drops a key from every L1 when a plain client SETs it', async () => {
    await writer.set(`${PREFIX}default:user%3A42`, 'v');
    for (const { target } of [b, c]) {
      await eventually(
        () => expect(target.drops).toEqual([{ keys: [`${PREFIX}default:user%3A42`] }]),
        DELIVERY_MS,
        5,
      );
    }
  });

  it('says nothing about a key outside the prefix', async () => {
    await writer.set('elsewhere:user%3A42', 'v');
    await writer.set(`${PREFIX}marker`, 'v');
    // The same writer and the same subscriber: once the marker is here, the other key would be too.
    await eventually(() => expect(b.target.drops).toEqual([{ keys: [`${PREFIX}marker`] }]), DELIVERY_MS, 5);
  });

  it('reports deletes, UNLINK of many keys and expiries as well', async () => {
    const keys = [1, 2, 3].map((n) => `${PREFIX}ns:k${n}`);
    await writer.mset(keys[0], 'a', keys[1], 'b', keys[2], 'c');
    await eventually(() => expect(new Set(b.target.keys)).toEqual(new Set(keys)), DELIVERY_MS, 5);
    b.target.drops.length = 0;
    await writer.unlink(keys[0], keys[1]);
    await eventually(() => expect(b.target.keys).toEqual([keys[0], keys[1]]), DELIVERY_MS, 5);
    b.target.drops.length = 0;
    // PEXPIRE is a change, reported at once; the expiry itself is reported again when it happens.
    // The TTL leaves time for the first report to go out first: Redis merges the reports of one key
    // made in one event-loop cycle, which a 1 ms TTL on a loaded machine could fall into.
    await writer.pexpire(keys[2], 200);
    await eventually(() => expect(b.target.keys[0]).toBe(keys[2]), DELIVERY_MS, 5);
    await eventually(async () => {
      expect(await writer.exists(keys[2])).toBe(0);
      expect(b.target.keys).toEqual([keys[2], keys[2]]);
    });
    expect(b.target.allDrops).toBe(0);
  });

  it("reports this instance's own writes back to it (NOLOOP would not hide them: they use the main connection)", async () => {
    await b.connection.client.set(`${PREFIX}own`, 'v');
    await eventually(() => expect(b.target.drops).toEqual([{ keys: [`${PREFIX}own`] }]), DELIVERY_MS, 5);
  });

  it('drops all of L1 on FLUSHALL and FLUSHDB', async () => {
    await writer.flushall();
    await eventually(() => expect(b.target.drops).toEqual([{ all: true }]), DELIVERY_MS, 5);
    await writer.flushdb();
    await eventually(() => expect(c.target.drops).toEqual([{ all: true }, { all: true }]), DELIVERY_MS, 5);
  });

  it('publishes nothing itself: publishKeys and publishPrefix resolve and change nothing', async () => {
    await expect(b.transport.publishKeys([`${PREFIX}x`])).resolves.toBeUndefined();
    await expect(b.transport.publishPrefix(PREFIX)).resolves.toBeUndefined();
    await writer.set(`${PREFIX}marker`, 'v');
    await eventually(() => expect(c.target.drops).toEqual([{ keys: [`${PREFIX}marker`] }]), DELIVERY_MS, 5);
  });

  it('tracks and listens on one connection of its own, which redirects to itself', async () => {
    const list = (await writer.client('LIST')) as string;
    const line = list.split('\n').find((entry) => entry.includes(' name=tracking-b-cache-tracking '));
    expect(line).toBeDefined();
    const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
    expect(line).toContain(`redir=${id}`);
    expect(line).toMatch(/\bsub=1\b/);
  });

  it('re-establishes tracking and drops all of L1 when its connection is killed', async () => {
    expect(await writer.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBe(2);
    await eventually(() => expect(b.target.allDrops).toBe(1));
    await eventually(async () => {
      await writer.set(`${PREFIX}after-kill`, 'v');
      expect(b.target.keys).toContain(`${PREFIX}after-kill`);
    });
  });

  it('re-establishes tracking and drops all of L1 after the server restarts', async () => {
    await server.kill();
    await server.restart();
    await eventually(() => expect(b.target.allDrops).toBeGreaterThanOrEqual(1));
    await eventually(() => expect(c.target.allDrops).toBeGreaterThanOrEqual(1));
    await eventually(async () => {
      await writer.set(`${PREFIX}after-restart`, 'v');
      expect(b.target.keys).toContain(`${PREFIX}after-restart`);
      expect(c.target.keys).toContain(`${PREFIX}after-restart`);
    });
  });

  it('closes its connection, and with it the tracking, on stop()', async () => {
    const instance = await openInstance('tracking-stop', options);
    expect(await clientNames(server.url)).toContain('tracking-stop-cache-tracking');
    await instance.transport.stop();
    await eventually(async () =>
      expect(await clientNames(server.url)).not.toContain('tracking-stop-cache-tracking'),
    );
    await writer.set(`${PREFIX}after-stop`, 'v');
    await eventually(() => expect(b.target.keys).toContain(`${PREFIX}after-stop`), DELIVERY_MS, 5);
    expect(instance.target.drops).toEqual([]);
  });
});

describe('ClientTrackingInvalidationTransport start() failures', () => {
  afterAll(closeAll);

  it('rejects on a Cluster connection, pointing at pub/sub', async () => {
    const connection = await RedisConnection.open('tracking-cluster', {
      cluster: { nodes: sharedClusterNodes() },
    });
    const transport = new ClientTrackingInvalidationTransport({
      client: connection.client,
      prefix: PREFIX,
      target: new RecordingTarget(),
    });
    try {
      await expect(transport.start()).rejects.toThrow(
        'client-side caching mode needs a standalone Redis or Sentinel connection; use pubsub invalidation on a Cluster',
      );
    } finally {
      await transport.stop();
      await connection.close();
    }
  });

  it('rejects at once, saying why, when the ACL user may not run CLIENT TRACKING', async () => {
    const server = await RedisServer.start();
    try {
      const admin = rawClient(server.url);
      await admin.call(
        'ACL',
        'SETUSER',
        'untracked',
        'on',
        '>secret',
        '~*',
        '&*',
        '+@all',
        '-client|tracking',
      );
      const connection = await RedisConnection.open('tracking-refused', {
        url: server.url,
        username: 'untracked',
        password: 'secret',
      });
      const transport = new ClientTrackingInvalidationTransport({
        client: connection.client,
        prefix: PREFIX,
        target: new RecordingTarget(),
      });
      try {
        await expect(transport.start()).rejects.toThrow(/refused by Redis: NOPERM/);
        await eventually(async () =>
          expect(await clientNames(server.url)).not.toContain('redkit-cache-tracking'),
        );
      } finally {
        await transport.stop();
        await connection.close();
      }
    } finally {
      closeRawClients();
      await server.stop();
    }
  });

  it('refuses an empty prefix at construction', () => {
    expect(
      () =>
        new ClientTrackingInvalidationTransport({
          client: new Redis({ lazyConnect: true }),
          prefix: '',
          target: new RecordingTarget(),
        }),
    ).toThrow('"prefix" must be a non-empty string');
  });
});
