import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CacheLoaderError, CacheValueTooLargeError } from '@redkit/cache';

import { eventually, sharedTopologies } from '../harness/index.js';
import {
  deleteKeys,
  metricValue,
  openCache,
  sleep,
  uniquePrefix,
  type CacheInstance,
} from './cache-test-kit.js';

describe.each(sharedTopologies)('CacheService on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('cache');
  let a: CacheInstance;
  let b: CacheInstance;

  beforeAll(async () => {
    const options = { namespaces: { other: {} }, ttlJitter: 0 };
    a = await openCache({ ...redis(), keyPrefix }, options);
    b = await openCache({ ...redis(), keyPrefix }, options);
  });

  afterAll(async () => {
    await deleteKeys(a.connection, keyPrefix);
    await a?.close();
    await b?.close();
  });

  it('runs the loader once for 100 concurrent getOrSet calls on one cold key', async () => {
    let calls = 0;
    const loader = async () => {
      calls += 1;
      await sleep(20);
      return { answer: 42 };
    };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => a.cache.getOrSet('stampede', loader)),
    );
    expect(calls).toBe(1);
    expect(results.every((result) => result.answer === 42)).toBe(true);
  });

  it('fills L1 from L2 on a read that misses L1, and counts the hit by level', async () => {
    await a.cache.set('shared', 'from-a');
    expect(await b.cache.get('shared')).toBe('from-a');
    expect(
      await metricValue(b.metrics, 'redkit_cache_hits_total{cache="default",level="l2"}'),
    ).toBeGreaterThanOrEqual(1);
    // A's invalidation of 'shared' may reach B during that first read, which then must not fill
    // L1; once it has arrived, a read fills L1 and the next one is an L1 hit.
    await eventually(async () => {
      expect(await b.cache.get('shared')).toBe('from-a');
      expect(
        await metricValue(b.metrics, 'redkit_cache_hits_total{cache="default",level="l1"}'),
      ).toBeGreaterThanOrEqual(1);
    });
  });

  it('round-trips Date, Buffer, BigInt, Map and Set through L2', async () => {
    const value = {
      at: new Date('2026-11-23T10:00:00.000Z'),
      bytes: Buffer.from([0, 1, 254, 255]),
      big: 2n ** 70n,
      map: new Map<unknown, unknown>([
        [1, 'one'],
        ['k', { nested: new Set([1, 2]) }],
      ]),
    };
    await a.cache.set('rich', value);
    const fromL2 = await b.cache.get<typeof value>('rich');
    expect(fromL2).toEqual(value);
    expect(fromL2?.at).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(fromL2?.bytes)).toBe(true);
  });

  it("drops B's L1 copy when A sets, deletes or invalidates a tag", async () => {
    await a.cache.set('coherent', 'v1', { tags: ['t-coherent'] });
    expect(await b.cache.get('coherent')).toBe('v1');
    await a.cache.set('coherent', 'v2', { tags: ['t-coherent'] });
    await eventually(async () => expect(await b.cache.get('coherent')).toBe('v2'), 2_000, 5);
    await a.cache.delete('coherent');
    await eventually(async () => expect(await b.cache.get('coherent')).toBeUndefined(), 2_000, 5);
    await a.cache.set('coherent', 'v3', { tags: ['t-coherent'] });
    expect(await b.cache.get('coherent')).toBe('v3');
    await a.cache.deleteByTag('t-coherent');
    await eventually(async () => expect(await b.cache.get('coherent')).toBeUndefined(), 2_000, 5);
  });

  it('counts invalidations per namespace: keys A sent, keys B received, a cleared namespace as one', async () => {
    const series = (instance: CacheInstance, cache: string, direction: string) =>
      metricValue(
        instance.metrics,
        `redkit_cache_invalidations_total{cache="${cache}",direction="${direction}"}`,
      );
    const sentBefore = await series(a, 'other', 'sent');
    const receivedBefore = await series(b, 'other', 'received');
    await a.cache.set('counted-1', 1, { namespace: 'other' });
    await a.cache.set('counted-2', 2, { namespace: 'other' });
    await a.cache.delete('counted-1', { namespace: 'other' });
    await a.cache.clear('other');
    expect(await series(a, 'other', 'sent')).toBe(sentBefore + 4);
    await eventually(async () => expect(await series(b, 'other', 'received')).toBe(receivedBefore + 4));
    // A ignores its own messages.
    expect(await series(a, 'other', 'received')).toBe(0);
  });

  it('removes every tagged key from L1 and L2, and leaves untagged keys alone', async () => {
    await Promise.all([
      a.cache.set('p1', 1, { tags: ['products'] }),
      a.cache.set('p2', 2, { tags: ['products', 'featured'] }),
      a.cache.set('u1', 3, { tags: ['users'] }),
    ]);
    expect(await a.cache.deleteByTag('products')).toBe(2);
    expect(await a.cache.get('p1')).toBeUndefined();
    expect(await b.cache.get('p2')).toBeUndefined();
    expect(await a.cache.get('u1')).toBe(3);
    const { client } = a.connection;
    expect(await client.exists(`${keyPrefix}:cache:default:p1`)).toBe(0);
    expect(await client.exists(`${keyPrefix}:cache:default:p2`)).toBe(0);
    expect(await client.exists(`${keyPrefix}:cache:default:~tag:products`)).toBe(0);
  });

  it('clears one namespace and leaves the others intact', async () => {
    await a.cache.set('x', 'default-x');
    await a.cache.set('x', 'other-x', { namespace: 'other' });
    await a.cache.set('y', 'other-y', { namespace: 'other' });
    expect(await a.cache.clear('other')).toBeGreaterThanOrEqual(2);
    expect(await a.cache.get('x', { namespace: 'other' })).toBeUndefined();
    expect(await b.cache.get('y', { namespace: 'other' })).toBeUndefined();
    expect(await a.cache.get('x')).toBe('default-x');
  });

  it('serves a stale value during grace at once and refreshes it once in the background', async () => {
    let version = 0;
    const loader = async () => {
      version += 1;
      await sleep(30);
      return `v${version}`;
    };
    expect(await a.cache.getOrSet('graceful', loader, { ttlMs: 50, graceMs: 10_000 })).toBe('v1');
    await sleep(80);
    const stale = await Promise.all(
      Array.from({ length: 20 }, () => a.cache.getOrSet('graceful', loader, { ttlMs: 50, graceMs: 10_000 })),
    );
    expect(stale.every((value) => value === 'v1')).toBe(true);
    await eventually(async () =>
      expect(await a.cache.getOrSet('graceful', loader, { ttlMs: 5_000 })).toBe('v2'),
    );
    expect(version).toBe(2);
    expect(
      await metricValue(a.metrics, 'redkit_cache_stale_served_total{cache="default"}'),
    ).toBeGreaterThanOrEqual(20);
  });

  it('serves the stale value when the loader throws, and counts it', async () => {
    await a.cache.getOrSet('fail-safe', () => 'good', { ttlMs: 30, graceMs: 60_000 });
    await sleep(60);
    const before = await metricValue(a.metrics, 'redkit_cache_stale_served_total{cache="default"}');
    const failing = () => Promise.reject(new Error('database down'));
    expect(await b.cache.getOrSet('fail-safe', failing, { ttlMs: 30, graceMs: 60_000 })).toBe('good');
    expect(await a.cache.getOrSet('fail-safe', failing)).toBe('good');
    expect(await metricValue(a.metrics, 'redkit_cache_stale_served_total{cache="default"}')).toBeGreaterThan(
      before,
    );
  });

  it('surfaces a failing loader as CacheLoaderError when nothing stale exists', async () => {
    await expect(a.cache.getOrSet('never-loaded', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      CacheLoaderError,
    );
    await expect(a.cache.getOrSet('never-loaded', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'cache loader for "never-loaded" failed: boom',
    );
  });

  it('returns the stale value after the soft timeout and stores the slow result when it lands', async () => {
    await a.cache.set('slow', 'old', { ttlMs: 20, graceMs: 60_000 });
    await sleep(40);
    const slow = async () => {
      await sleep(200);
      return 'new';
    };
    expect(await b.cache.getOrSet('slow', slow, { loaderSoftTimeoutMs: 20, graceMs: 60_000 })).toBe('old');
    expect(await b.cache.getOrSet('quick', async () => 'fresh', { loaderSoftTimeoutMs: 20 })).toBe('fresh');
    await eventually(async () => expect(await a.cache.get('slow')).toBe('new'));
  });

  it('gives up on the loader at the hard timeout, aborting its signal', async () => {
    let aborted = false;
    const hanging = (signal: AbortSignal) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve('late');
        });
      });
    await expect(a.cache.getOrSet('hang', hanging, { loaderHardTimeoutMs: 50 })).rejects.toThrow(
      'loaderHardTimeoutMs (50 ms)',
    );
    expect(aborted).toBe(true);
  });

  it('does not cache undefined, and caches null only with cacheNull', async () => {
    let calls = 0;
    await a.cache.getOrSet('nothing', () => {
      calls += 1;
      return undefined;
    });
    await a.cache.getOrSet('nothing', () => {
      calls += 1;
      return null;
    });
    await a.cache.getOrSet('nothing', () => {
      calls += 1;
      return null;
    });
    expect(calls).toBe(3);
  });

  it('returns a value shouldStore refuses to every caller of the flight without storing it', async () => {
    let calls = 0;
    const loader = async () => {
      calls += 1;
      await sleep(10);
      return { partial: calls === 1 };
    };
    const shouldStore = (value: unknown) => !(value as { partial: boolean }).partial;
    const first = await Promise.all(
      Array.from({ length: 10 }, () => a.cache.getOrSet('partial', loader, { shouldStore })),
    );
    expect(calls).toBe(1);
    expect(first.every((value) => value.partial)).toBe(true);
    expect(await b.cache.get('partial')).toBeUndefined();
    expect(await a.cache.getOrSet('partial', loader, { shouldStore })).toEqual({ partial: false });
    expect(await a.cache.getOrSet('partial', loader, { shouldStore })).toEqual({ partial: false });
    expect(calls).toBe(2);
    expect(await b.cache.get('partial')).toEqual({ partial: false });
  });

  it('refuses a value larger than maxValueBytes with a clear error', async () => {
    await expect(a.cache.set('huge', 'x'.repeat(2 * 1024 * 1024))).rejects.toThrow(CacheValueTooLargeError);
  });
});
