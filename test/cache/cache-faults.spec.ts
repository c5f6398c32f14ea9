import { execFileSync } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';

import { RedisServer, eventually } from '../harness/index.js';
import { metricValue, openCache, type CacheInstance } from './cache-test-kit.js';

describe('CacheService while Redis is paused', () => {
  let server: RedisServer;
  let instance: CacheInstance;

  beforeAll(async () => {
    server = await RedisServer.start();
    instance = await openCache({ url: server.url, commandTimeoutMs: 200 }, { ttlJitter: 0 });
  });

  afterAll(async () => {
    server?.resume();
    await instance?.close();
    await server?.stop();
  });

  it('answers from L1 and from the loader, counts the L2 errors, and recovers after resume', async () => {
    const { cache, metrics } = instance;
    await cache.set('warm', 'from-l1');
    server.pause();
    try {
      expect(await cache.getOrSet('warm', () => 'loader-should-not-run')).toBe('from-l1');
      expect(await cache.getOrSet('cold', () => 'from-loader')).toBe('from-loader');
      expect(await cache.get('cold')).toBe('from-loader');
      expect(
        await metricValue(metrics, 'redkit_cache_errors_total{cache="default",op="l2_get"}'),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      server.resume();
    }
    await eventually(async () => {
      await cache.set('after', 'resumed');
      expect(await instance.connection.client.exists('redkit:cache:default:after')).toBe(1);
    });
  });

  it('serves a stale value instead of an error when Redis and the loader both fail', async () => {
    const { cache } = instance;
    await cache.set('stale-ok', 'kept', { ttlMs: 20, graceMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 40));
    server.pause();
    try {
      expect(await cache.getOrSet('stale-ok', () => Promise.reject(new Error('db down')))).toBe('kept');
    } finally {
      server.resume();
    }
  });
});

describe('client-side caching mode (CLIENT TRACKING)', () => {
  let server: RedisServer;
  let a: CacheInstance;
  let b: CacheInstance;
  let outsider: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    a = await openCache({ url: server.url }, { invalidation: 'tracking', ttlJitter: 0 });
    b = await openCache({ url: server.url }, { invalidation: 'tracking', ttlJitter: 0 });
    outsider = new Redis(server.url);
  });

  afterAll(async () => {
    outsider?.disconnect();
    await a?.close();
    await b?.close();
    await server?.stop();
  });

  it("drops every instance's L1 copy when redis-cli, not redkit, overwrites the key", async () => {
    await a.cache.set('tracked', 'v1');
    expect(await b.cache.get('tracked')).toBe('v1');
    expect(await a.cache.get('tracked')).toBe('v1');
    const until = Date.now() + 60_000;
    execFileSync('redis-cli', [
      '-p',
      String(server.port),
      'SET',
      'redkit:cache:default:tracked',
      `${until}:${until}:"v2"`,
    ]);
    await eventually(async () => expect(await a.cache.get('tracked')).toBe('v2'), 1_000, 10);
    await eventually(async () => expect(await b.cache.get('tracked')).toBe('v2'), 1_000, 10);
  });

  it('drops L1 copies when a plain client deletes the key', async () => {
    await a.cache.set('tracked-delete', 'here');
    expect(await b.cache.get('tracked-delete')).toBe('here');
    await outsider.del('redkit:cache:default:tracked-delete');
    await eventually(async () => expect(await b.cache.get('tracked-delete')).toBeUndefined(), 1_000, 10);
  });
});

describe('an instance whose invalidation subscriber is down', () => {
  let server: RedisServer;
  let admin: Redis;
  let reader: CacheInstance;
  let writer: CacheInstance;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url, { enableReadyCheck: false });
    [reader, writer] = await Promise.all([
      openCache({ url: server.url, commandTimeoutMs: 500 }, { ttlJitter: 0 }),
      openCache({ url: server.url, commandTimeoutMs: 500 }, { ttlJitter: 0 }),
    ]);
  });

  afterAll(async () => {
    await admin?.config('SET', 'maxclients', '10000').catch(() => undefined);
    await Promise.all([reader?.close(), writer?.close()]);
    await admin?.quit();
    await server?.stop();
  });

  it('reads from Redis, not its L1, while it cannot hear other instances, and trusts L1 again once it listens', async () => {
    const l1Hits = () => metricValue(reader.metrics, 'redkit_cache_hits_total{cache="default",level="l1"}');
    await writer.cache.set('book', 'v1');
    // The write's invalidation reaches the reader first, so it does not drop what the reads fill.
    await eventually(async () =>
      expect(
        await metricValue(
          reader.metrics,
          'redkit_cache_invalidations_total{cache="default",direction="received"}',
        ),
      ).toBe(1),
    );
    expect(await reader.cache.get('book')).toBe('v1');
    expect(await reader.cache.get('book')).toBe('v1');
    expect(await l1Hits()).toBe(1);
    // Kill the invalidation subscribers and keep them from reconnecting: no new connection is accepted.
    const clients = (await admin.client('LIST')) as string;
    const subscribers = clients
      .split('\n')
      .filter((line) => / name=\S*cache-invalidation /.test(line))
      .map((line) => /^id=(\d+)/.exec(line)?.[1] as string);
    expect(subscribers).toHaveLength(2);
    const connected = clients.trim().split('\n').length - subscribers.length;
    await admin.config('SET', 'maxclients', String(connected));
    for (const id of subscribers) await admin.client('KILL', 'ID', id);
    try {
      await writer.cache.set('book', 'v2');
      // The writer's invalidation went nowhere the reader listens; L1 still holds v1 but must not answer.
      expect(await reader.cache.get('book')).toBe('v2');
      expect(await reader.cache.getOrSet('book', () => 'loader-should-not-run')).toBe('v2');
      expect(await l1Hits()).toBe(1);
    } finally {
      await admin.config('SET', 'maxclients', '10000');
    }
    await eventually(async () =>
      expect(await metricValue(reader.metrics, 'redkit_cache_invalidation_resubscriptions_total')).toBe(1),
    );
    expect(await reader.cache.get('book')).toBe('v2');
    expect(await reader.cache.get('book')).toBe('v2');
    // Listening again: the second read is L1's.
    expect(await l1Hits()).toBe(2);
  });
});
