import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CacheOptionsError, CacheService, type CacheModuleOptions } from '@redkit/cache';
import { clusterKeySlot, type RedisModuleOptions } from '@redkit/redis';
import { Redis } from 'ioredis';

import { eventually, RedisClusterServers, sharedAdminRedisUrl, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, metricValue, openCache, uniquePrefix, type CacheInstance } from './cache-test-kit.js';

/** Calls of each command so far on one server, from INFO commandstats. */
async function commandCalls(admin: Redis, ...commands: string[]): Promise<number[]> {
  const info = await admin.info('commandstats');
  return commands.map((command) =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0),
  );
}

/** Summed over the servers: what they counted of `commands` since `before`. */
async function callsSince(admins: Redis[], before: number[][], ...commands: string[]): Promise<number[]> {
  const after = await Promise.all(admins.map((admin) => commandCalls(admin, ...commands)));
  return commands.map((_, index) =>
    after.reduce((sum, row, server) => sum + (row[index] ?? 0) - (before[server]?.[index] ?? 0), 0),
  );
}

const OPTIONS: CacheModuleOptions = {
  ttlMs: 60_000,
  namespaces: {
    books: { ttlMs: 60_000 },
    leased: { ttlMs: 60_000, distributedSingleFlight: { leaseMs: 10_000, waitMs: 60_000 } },
  },
};

describe('L1 invalidation and landing notices on a 3-master cluster (sharded pub/sub)', () => {
  const keyPrefix = uniquePrefix('shardcache');
  let cluster: RedisClusterServers;
  let admins: Redis[];
  let redis: RedisModuleOptions;
  let a: CacheInstance;
  let b: CacheInstance;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start();
    admins = cluster.servers.map(({ url }) => new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 }));
    redis = { cluster: { nodes: cluster.nodes }, keyPrefix, reconnectMaxDelayMs: 200 };
    [a, b] = await Promise.all([openCache(redis, OPTIONS), openCache(redis, OPTIONS)]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    for (const admin of admins ?? []) admin.disconnect();
    await cluster?.stop();
  });

  /** Subscribers of a shard channel on the master that owns it. */
  async function shardSubscribers(channel: string): Promise<number> {
    const owner = admins[await cluster.ownerOf(clusterKeySlot(channel))] as Redis;
    return ((await owner.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1];
  }

  /** `instance` answers `expected` for `key`: its L1 copy was dropped once `expected` was written elsewhere. */
  async function seesEventually(instance: CacheInstance, key: string, expected: unknown, namespace?: string) {
    await eventually(
      async () => expect(await instance.cache.get(key, { namespace })).toEqual(expected),
      15_000,
    );
  }

  it('two instances drop each other’s L1 through the cache’s shard channel, by SPUBLISH only', async () => {
    for (const channel of ['invalidate', 'landed']) {
      expect(await shardSubscribers(`${keyPrefix}:cache:~${channel}`)).toBe(2);
    }
    const before = await Promise.all(admins.map((admin) => commandCalls(admin, 'spublish', 'publish')));
    for (const namespace of [undefined, 'books']) {
      await a.cache.set('user:1', { v: 1 }, { namespace });
      // b reads it from L2 into its L1; a's next write must make b drop that copy.
      expect(await b.cache.get('user:1', { namespace })).toEqual({ v: 1 });
      await a.cache.set('user:1', { v: 2 }, { namespace });
      await seesEventually(b, 'user:1', { v: 2 }, namespace);
      await b.cache.delete('user:1', { namespace });
      await eventually(async () => expect(await a.cache.get('user:1', { namespace })).toBeUndefined());
    }
    const [spublish, publish] = await callsSince(admins, before, 'spublish', 'publish');
    expect(spublish).toBeGreaterThanOrEqual(6);
    expect(publish).toBe(0);
    // a's two writes of books' key reached b (counted per namespace).
    expect(
      await metricValue(b.metrics, 'redkit_cache_invalidations_total{cache="books",direction="received"}'),
    ).toBe(2);
  });

  it('wakes an instance waiting for another’s load through the landing shard channel', async () => {
    let finishLoad!: (value: string) => void;
    const loading = a.cache.getOrSet('slow', () => new Promise<string>((resolve) => (finishLoad = resolve)), {
      namespace: 'leased',
    });
    await eventually(() => expect(finishLoad).toBeDefined());
    let bLoaded = false;
    let bAnswer: string | undefined;
    const waiting = b.cache
      .getOrSet(
        'slow',
        async () => {
          bLoaded = true;
          return 'b';
        },
        { namespace: 'leased' },
      )
      .then((value) => (bAnswer = value));
    // b marks the lease as waited on ('+'); a stores only once it did, so that a announces the landing.
    await eventually(async () =>
      expect(await a.connection.client.get(`${keyPrefix}:cache:leased:slow`)).toMatch(/\+/),
    );
    finishLoad('a');
    expect(await loading).toBe('a');
    // waitMs is 60 s: b answering now means the landing notice woke it.
    await eventually(() => expect(bAnswer).toBe('a'), 10_000);
    await waiting;
    expect(bLoaded).toBe(false);
  });

  it('announces a lease ended without a value, so the waiter loads at once', async () => {
    let failLoad!: (error: Error) => void;
    const loading = a.cache.getOrSet(
      'failing',
      () => new Promise<string>((_, reject) => (failLoad = reject)),
      {
        namespace: 'leased',
      },
    );
    loading.catch(() => undefined);
    await eventually(() => expect(failLoad).toBeDefined());
    let bAnswer: string | undefined;
    const waiting = b.cache.getOrSet('failing', async () => 'b loaded it', { namespace: 'leased' });
    void waiting.then((value) => (bAnswer = value));
    await eventually(async () =>
      expect(await a.connection.client.get(`${keyPrefix}:cache:leased:failing`)).toMatch(/\+/),
    );
    failLoad(new Error('the loader failed'));
    await expect(loading).rejects.toThrow();
    await eventually(() => expect(bAnswer).toBe('b loaded it'), 10_000);
  });

  it('invalidates again after the master owning the invalidation channel restarts, dropping L1 once', async () => {
    const channel = `${keyPrefix}:cache:~invalidate`;
    await cluster.restartNode(await cluster.ownerOf(clusterKeySlot(channel)));
    for (const instance of [a, b]) {
      await eventually(
        async () =>
          expect(await metricValue(instance.metrics, 'redkit_cache_invalidation_resubscriptions_total')).toBe(
            1,
          ),
        20_000,
      );
    }
    expect(await shardSubscribers(channel)).toBe(2);
    await eventually(async () => {
      await a.cache.set('after-restart', 1);
      expect(await b.cache.get('after-restart')).toBe(1);
    }, 15_000);
    await a.cache.set('after-restart', 2);
    await seesEventually(b, 'after-restart', 2);
  });

  it('refuses a shardedPubSub that is not a boolean, naming it', () => {
    expect(() => new CacheService(a.connection, { shardedPubSub: 'yes' as unknown as boolean })).toThrow(
      CacheOptionsError,
    );
    expect(() => new CacheService(a.connection, { shardedPubSub: 1 as unknown as boolean })).toThrow(
      /"shardedPubSub" must be true or false, got 1/,
    );
  });
});

describe('L1 invalidation on a standalone server', () => {
  const keyPrefix = uniquePrefix('unshardcache');
  let admin: Redis;
  let a: CacheInstance;
  let b: CacheInstance;

  beforeAll(async () => {
    const redis = { url: sharedRedisUrl(), keyPrefix };
    [a, b] = await Promise.all([openCache(redis, OPTIONS), openCache(redis, OPTIONS)]);
    admin = new Redis(sharedAdminRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await deleteKeys(a.connection, keyPrefix);
    await Promise.all([a?.close(), b?.close()]);
    admin?.disconnect();
  });

  it('keeps PUBLISH on the one channel, for every namespace', async () => {
    const before = await commandCalls(admin, 'spublish', 'publish');
    await a.cache.set('k', 1, { namespace: 'books' });
    expect(await b.cache.get('k', { namespace: 'books' })).toBe(1);
    await a.cache.set('k', 2, { namespace: 'books' });
    await eventually(async () => expect(await b.cache.get('k', { namespace: 'books' })).toBe(2));
    const [spublish, publish] = (await callsSince([admin], [before], 'spublish', 'publish')) as [
      number,
      number,
    ];
    expect(spublish).toBe(0);
    expect(publish).toBeGreaterThanOrEqual(2);
    const subscribers = (await admin.pubsub('NUMSUB', `${keyPrefix}:cache:~invalidate`)) as [string, number];
    expect(Number(subscribers[1])).toBe(2);
  });
});
