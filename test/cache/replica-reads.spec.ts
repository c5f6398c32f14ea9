import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MetricsService } from '@redkit/metrics';
import { RedisConnection, type RedisModuleOptions } from '@redkit/redis';
import { CacheOptionsError, CacheService, type CacheModuleOptions } from '@redkit/cache';
import type { Redis } from 'ioredis';

import {
  RedisClusterServers,
  RedisSentinelGroup,
  RedisServer,
  eventually,
  metricValue,
  uniquePrefix,
} from '../harness/index.js';
import { admin } from '../harness/replication.js';
import { openCache, type CacheInstance } from './cache-test-kit.js';

/** GET and MGET calls `server` ran since its stats were last reset. */
async function readCalls(server: RedisServer): Promise<number> {
  const client = admin(server);
  try {
    const stats = await client.info('commandstats');
    const calls = (command: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    return calls('get') + calls('mget');
  } finally {
    client.disconnect();
  }
}

async function onEach(
  servers: readonly RedisServer[],
  run: (client: Redis) => Promise<unknown>,
): Promise<void> {
  await Promise.all(
    servers.map(async (server) => {
      const client = admin(server);
      try {
        await run(client);
      } finally {
        client.disconnect();
      }
    }),
  );
}

const resetStats = (servers: readonly RedisServer[]) =>
  onEach(servers, (client) => client.config('RESETSTAT'));

/** The replica client connects in the background; a test starts reading once it is ready. */
async function replicaReady(instance: CacheInstance): Promise<void> {
  const replica = instance.connection.replicaClient();
  await eventually(() => expect(replica.status).toBe('ready'));
}

function replicaReads(instance: CacheInstance, outcome: string): Promise<number> {
  return metricValue(instance.metrics, `redkit_cache_replica_reads_total{outcome="${outcome}"}`);
}

describe("CacheModule l2Reads: 'replica' on a Sentinel group (primary, 2 replicas, 3 Sentinels)", () => {
  const keyPrefix = uniquePrefix('replicareads');
  const redisKey = (key: string) => `${keyPrefix}:cache:default:${key}`;
  let group: RedisSentinelGroup;
  let redis: RedisModuleOptions;
  const opened: CacheInstance[] = [];
  const open = async (options: CacheModuleOptions): Promise<CacheInstance> => {
    const instance = await openCache(redis, { ttlJitter: 0, l1: false, ...options });
    opened.push(instance);
    if (options.l2Reads === 'replica') await replicaReady(instance);
    return instance;
  };
  const writer = () => open({ l2Reads: 'primary' });

  /** Resolves once both replicas acknowledged everything written to the primary so far. */
  async function replicated(): Promise<void> {
    const client = admin(group.primary);
    try {
      await client.set(`${keyPrefix}:probe`, '1', 'PX', 60_000);
      expect(await client.wait(2, 5_000)).toBe(2);
    } finally {
      client.disconnect();
    }
  }

  /**
   * Makes every replica hold `text` under `key` while the primary keeps its own value: a replica
   * lagging as far behind as a test needs, without depending on timing.
   */
  async function divergeReplicas(key: string, text: string | null): Promise<void> {
    await onEach(group.replicas, async (client) => {
      await client.config('SET', 'replica-read-only', 'no');
      try {
        if (text === null) await client.del(key);
        else await client.set(key, text);
      } finally {
        await client.config('SET', 'replica-read-only', 'yes');
      }
    });
  }

  /** The stored text of an entry holding `value`, as a replica would hold an older version. */
  async function storedText(instance: CacheInstance, key: string, value: string): Promise<string> {
    await instance.cache.set(key, value);
    return (await instance.connection.client.get(redisKey(key))) as string;
  }

  beforeAll(async () => {
    group = await RedisSentinelGroup.start({ replicas: 2, sentinels: 3 });
    redis = {
      sentinel: { sentinels: group.sentinelAddresses, name: group.name },
      keyPrefix,
      commandTimeoutMs: 300,
    };
  }, 60_000);

  afterAll(async () => {
    for (const server of group?.servers ?? []) if (server.running) server.resume();
    await Promise.all(opened.map((instance) => instance.close()));
    await group?.stop();
  });

  it('answers get, batched gets and getOrSet from a replica, sending the primary no read', async () => {
    const w = await writer();
    const keys = Array.from({ length: 10 }, (_, index) => `served-${index}`);
    await Promise.all(keys.map((key) => w.cache.set(key, `value-${key}`)));
    await replicated();
    const r = await open({ l2Reads: 'replica' });
    await resetStats(group.servers);
    // One turn of reads goes out as one MGET, to the replica.
    expect(await Promise.all(keys.map((key) => r.cache.get(key)))).toEqual(keys.map((key) => `value-${key}`));
    let loaderRuns = 0;
    const loaded = await r.cache.getOrSet('served-0', () => {
      loaderRuns += 1;
      return 'from-loader';
    });
    expect(loaded).toBe('value-served-0');
    expect(loaderRuns).toBe(0);
    expect(await readCalls(group.primary)).toBe(0);
    const onReplicas = await Promise.all(group.replicas.map(readCalls));
    expect(onReplicas.reduce((sum, calls) => sum + calls, 0)).toBeGreaterThanOrEqual(2);
    expect(await replicaReads(r, 'replica')).toBe(11);
  });

  it('reads its own set, delete and tag invalidation from the primary while a replica still holds the old value', async () => {
    const r = await open({ l2Reads: 'replica', readYourWritesMs: 60_000 });
    const old = await storedText(await writer(), 'ryw-old', 'old');

    await r.cache.set('ryw-set', 'new');
    await replicated();
    await divergeReplicas(redisKey('ryw-set'), old);
    expect(await r.cache.get('ryw-set')).toBe('new');

    await r.cache.set('ryw-delete', 'doomed');
    await r.cache.delete('ryw-delete');
    await replicated();
    await divergeReplicas(redisKey('ryw-delete'), old);
    expect(await r.cache.get('ryw-delete')).toBeUndefined();

    await r.cache.set('ryw-tagged', 'tagged', { tags: ['ryw'] });
    await r.cache.deleteByTag('ryw');
    await replicated();
    await divergeReplicas(redisKey('ryw-tagged'), old);
    expect(await r.cache.get('ryw-tagged')).toBeUndefined();

    expect(await replicaReads(r, 'after_write')).toBe(3);
    expect(await replicaReads(r, 'replica')).toBe(0);
  });

  it('goes back to the replica for a key once readYourWritesMs has passed', async () => {
    const r = await open({ l2Reads: 'replica', readYourWritesMs: 100 });
    const old = await storedText(await writer(), 'window-old', 'old');
    await r.cache.set('window', 'new');
    await replicated();
    await divergeReplicas(redisKey('window'), old);
    // What the replica holds shows where the read went: its diverged copy once the window closed.
    await eventually(async () => expect(await r.cache.get('window')).toBe('old'));
  });

  it('another instance reads the new value from a replica once WAIT says replication caught up', async () => {
    const w = await writer();
    // No invalidation: the reader learns nothing from the writer, it only reads the replica.
    const r = await open({ l2Reads: 'replica', invalidation: 'none' });
    await w.cache.set('caught-up', 'v1');
    await replicated();
    expect(await r.cache.get('caught-up')).toBe('v1');
    await w.cache.set('caught-up', 'v2');
    await replicated();
    expect(await r.cache.get('caught-up')).toBe('v2');
    expect(await replicaReads(r, 'replica')).toBe(2);
  });

  it("reads from the primary a key another instance's invalidation just named, though a replica lags", async () => {
    const w = await writer();
    const r = await open({ l2Reads: 'replica', readYourWritesMs: 60_000 });
    const old = await storedText(w, 'named-old', 'old');
    await w.cache.set('named', 'new');
    await eventually(async () =>
      expect(
        await metricValue(
          r.metrics,
          'redkit_cache_invalidations_total{cache="default",direction="received"}',
        ),
      ).toBeGreaterThanOrEqual(2),
    );
    await replicated();
    await divergeReplicas(redisKey('named'), old);
    expect(await r.cache.get('named')).toBe('new');
  });

  it("getOrSet asks the primary before running its loader on a replica's miss", async () => {
    const w = await writer();
    await w.cache.set('lagging', 'on-primary');
    await replicated();
    const r = await open({ l2Reads: 'replica' });
    await divergeReplicas(redisKey('lagging'), null);
    expect(await r.cache.get('lagging')).toBeUndefined();
    let loaderRuns = 0;
    const value = await r.cache.getOrSet('lagging', () => {
      loaderRuns += 1;
      return 'from-loader';
    });
    expect(value).toBe('on-primary');
    expect(loaderRuns).toBe(0);
    expect(await replicaReads(r, 'rechecked')).toBe(1);
  });

  it('closes the replica client when the connection closes', async () => {
    const instance = await openCache(redis, { l2Reads: 'replica' });
    const replica = instance.connection.replicaClient();
    await eventually(() => expect(replica.status).toBe('ready'));
    await instance.close();
    expect(replica.status).toBe('end');
  });

  it('answers from the primary when the replicas freeze, then when they are gone', async () => {
    const w = await writer();
    await w.cache.set('fallback', 'kept');
    await replicated();
    const r = await open({ l2Reads: 'replica' });
    for (const replica of group.replicas) replica.pause();
    try {
      // The replica read times out (commandTimeoutMs) and the primary answers, not the loader.
      expect(await r.cache.getOrSet('fallback', () => 'from-loader')).toBe('kept');
      expect(await replicaReads(r, 'failed')).toBe(1);
      // For a second after that failure, reads skip the replica.
      expect(await r.cache.get('fallback')).toBe('kept');
      expect(await replicaReads(r, 'unavailable')).toBeGreaterThanOrEqual(1);
    } finally {
      for (const replica of group.replicas) replica.resume();
    }
    await Promise.all(group.replicas.map((replica) => replica.kill()));
    const replicaClient = r.connection.replicaClient();
    await eventually(() => expect(replicaClient.status).not.toBe('ready'));
    await resetStats([group.primary]);
    const before = await replicaReads(r, 'unavailable');
    expect(await r.cache.get('fallback')).toBe('kept');
    expect(await r.cache.getOrSet('fallback', () => 'from-loader')).toBe('kept');
    expect(await replicaReads(r, 'unavailable')).toBe(before + 2);
    expect(await readCalls(group.primary)).toBe(2);
  });
});

describe("CacheModule l2Reads: 'replica' on a Cluster (3 masters, 1 replica each)", () => {
  const keyPrefix = uniquePrefix('replicareadscluster');
  let cluster: RedisClusterServers;
  let redis: RedisModuleOptions;
  const opened: CacheInstance[] = [];

  /** The data nodes by role, as each reports itself now. */
  async function roles(): Promise<{ masters: RedisServer[]; replicas: RedisServer[] }> {
    const masters: RedisServer[] = [];
    const replicas: RedisServer[] = [];
    await Promise.all(
      cluster.servers.map(async (server) => {
        if (!server.running) return;
        const client = admin(server);
        try {
          const info = await client.info('replication');
          (info.includes('role:master') ? masters : replicas).push(server);
        } finally {
          client.disconnect();
        }
      }),
    );
    return { masters, replicas };
  }

  /** Resolves once every master's replica acknowledged the master's whole replication stream. */
  async function replicated(): Promise<void> {
    const { masters } = await roles();
    await eventually(async () => {
      await onEach(masters, async (client) => {
        const info = await client.info('replication');
        const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
        expect(Number(/slave0:[^\r\n]*offset=(\d+)/.exec(info)?.[1])).toBe(offset);
      });
    });
  }

  beforeAll(async () => {
    cluster = await RedisClusterServers.start({ masters: 3, replicas: 1 });
    redis = { cluster: { nodes: cluster.nodes }, keyPrefix, commandTimeoutMs: 500 };
  }, 60_000);

  afterAll(async () => {
    await Promise.all(opened.map((instance) => instance.close()));
    await cluster?.stop();
  });

  it('answers reads from the replicas, reads its own writes from the masters, and falls back when a replica dies', async () => {
    const w = await openCache(redis, { ttlJitter: 0 });
    opened.push(w);
    const r = await openCache(redis, {
      ttlJitter: 0,
      l1: false,
      l2Reads: 'replica',
      readYourWritesMs: 60_000,
    });
    opened.push(r);
    await replicaReady(r);
    const keys = Array.from({ length: 12 }, (_, index) => `cluster-${index}`);
    await Promise.all(keys.map((key) => w.cache.set(key, `value-${key}`)));
    await replicated();
    // A reader that hears no invalidations, so no key of the writer's is in its read-your-writes window.
    const fresh = await openCache(redis, {
      ttlJitter: 0,
      l1: false,
      l2Reads: 'replica',
      invalidation: 'none',
    });
    opened.push(fresh);
    await replicaReady(fresh);
    const { masters, replicas } = await roles();
    await resetStats([...masters, ...replicas]);
    expect(await Promise.all(keys.map((key) => fresh.cache.get(key)))).toEqual(
      keys.map((key) => `value-${key}`),
    );
    expect(await Promise.all(masters.map(readCalls))).toEqual(masters.map(() => 0));
    const onReplicas = await Promise.all(replicas.map(readCalls));
    expect(onReplicas.reduce((sum, calls) => sum + calls, 0)).toBe(keys.length);

    await r.cache.set('cluster-own', 'mine');
    expect(await r.cache.get('cluster-own')).toBe('mine');
    expect(await replicaReads(r, 'after_write')).toBeGreaterThanOrEqual(1);

    const dead = replicas[0] as RedisServer;
    await dead.kill();
    expect(await Promise.all(keys.map((key) => fresh.cache.get(key)))).toEqual(
      keys.map((key) => `value-${key}`),
    );
  });
});

describe("CacheModule l2Reads: 'replica' on a standalone server", () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('fails at startup naming l2Reads, since a standalone server has no replica', async () => {
    const connection = await RedisConnection.open('replica-standalone', { url: server.url });
    try {
      let thrown: unknown;
      try {
        new CacheService(connection, { l2Reads: 'replica' }, new MetricsService());
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CacheOptionsError);
      expect((thrown as CacheOptionsError).option).toBe('l2Reads');
      expect((thrown as Error).message).toContain('standalone');
    } finally {
      await connection.close();
    }
  });
});
