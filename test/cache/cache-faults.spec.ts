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
