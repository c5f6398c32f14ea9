import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RateLimitAlgorithm, RateLimitRule } from '@redkit/rate-limit';

import { eventually, sharedTopologies } from '../harness/index.js';
import {
  deleteKeys,
  metricValue,
  openLimiter,
  sleep,
  uniquePrefix,
  type LimiterInstance,
} from './rate-limit-test-kit.js';

/**
 * Each algorithm's semantics, and the sliding log in both its forms: a packed string up to 256
 * units, a sorted set above. The sorted-set form runs the same cases with every limit and cost
 * multiplied by 2,000, so remaining counts scale with them.
 */
const variants: Array<{ label: string; algorithm: RateLimitAlgorithm; scale: number; keyType: string }> = [
  { label: 'sliding-log', algorithm: 'sliding-log', scale: 1, keyType: 'string' },
  { label: 'sliding-log, sorted-set form', algorithm: 'sliding-log', scale: 2_000, keyType: 'zset' },
  { label: 'sliding-counter', algorithm: 'sliding-counter', scale: 1, keyType: 'hash' },
];

describe.each(sharedTopologies)('RateLimiterService on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('rl');
  let instance: LimiterInstance;

  beforeAll(async () => {
    instance = await openLimiter({ ...redis(), keyPrefix });
  });

  afterAll(async () => {
    await deleteKeys(instance.connection, keyPrefix);
    await instance.close();
  });

  describe.each(variants)('$label', ({ algorithm, scale, keyType }) => {
    const rule = (limit: number, windowMs: number, extra: Partial<RateLimitRule> = {}): RateLimitRule => ({
      windowMs,
      algorithm,
      ...extra,
      limit: limit * scale,
      cost: (extra.cost ?? 1) * scale,
      name: `${extra.name ?? 'rule'}-${scale}`,
    });
    const units = (counts: number[]) => counts.map((count) => count * scale);

    it('admits exactly the limit, then refuses with a retry time and counts both in metrics', async () => {
      const { limiter, metrics } = instance;
      const limit = rule(5, 60_000, { name: `exact-${algorithm}` });
      const results = [];
      for (let index = 0; index < 7; index += 1) results.push(await limiter.consume('client-a', limit));
      expect(results.map((result) => result.allowed)).toEqual([true, true, true, true, true, false, false]);
      expect(results.map((result) => result.remaining)).toEqual(units([4, 3, 2, 1, 0, 0, 0]));
      expect(results[6]!.retryAfterMs).toBeGreaterThan(0);
      expect(results[6]!.retryAfterMs).toBeLessThanOrEqual(algorithm === 'sliding-log' ? 60_000 : 120_000);
      expect(results[0]!.resetMs).toBeGreaterThan(0);
      expect(results[0]!.source).toBe('redis');
      expect(typeof results[0]!.serverTimeUs).toBe('number');
      const series = `redkit_ratelimit_requests_total{limit="exact-${algorithm}-${scale}",outcome=`;
      expect(await metricValue(metrics, `${series}"allowed"}`)).toBe(5);
      expect(await metricValue(metrics, `${series}"limited"}`)).toBe(2);
    });

    it('weighs requests by cost, and a refused request consumes nothing', async () => {
      const { limiter } = instance;
      const base = rule(10, 60_000, { name: `cost-${algorithm}` });
      expect((await limiter.consume('client-b', { ...base, cost: 7 * scale })).remaining).toBe(3 * scale);
      const refused = await limiter.consume('client-b', { ...base, cost: 5 * scale });
      expect(refused.allowed).toBe(false);
      expect(refused.remaining).toBe(3 * scale);
      // Had the refused 5 been charged, this would be refused too.
      const last = await limiter.consume('client-b', { ...base, cost: 3 * scale });
      expect(last).toMatchObject({ allowed: true, remaining: 0 });
      expect((await limiter.consume('client-b', base)).allowed).toBe(false);
    });

    it('peek answers without charging', async () => {
      const { limiter } = instance;
      const limit = rule(2, 60_000, { name: `peek-${algorithm}` });
      for (let index = 0; index < 3; index += 1) {
        expect(await limiter.peek('client-c', limit)).toMatchObject({ allowed: true, remaining: 2 * scale });
      }
      await limiter.consume('client-c', limit);
      expect(await limiter.peek('client-c', limit)).toMatchObject({ allowed: true, remaining: scale });
    });

    it('reset forgets one limit or every limit of a key', async () => {
      const { limiter } = instance;
      const first = rule(1, 60_000, { name: `reset-a-${algorithm}` });
      const second = rule(1, 60_000, { name: `reset-b-${algorithm}` });
      await limiter.consume('client-d', first);
      await limiter.consume('client-d', second);
      await limiter.consume('client-d2', first);
      await limiter.reset('client-d', [first]);
      expect((await limiter.peek('client-d', first)).allowed).toBe(true);
      expect((await limiter.peek('client-d', second)).allowed).toBe(false);
      await limiter.reset('client-d');
      expect((await limiter.peek('client-d', second)).allowed).toBe(true);
      expect((await limiter.peek('client-d2', first)).allowed).toBe(false);
    });

    it(`lets keys expire by themselves, and admits again once the window has passed (a ${keyType})`, async () => {
      const { limiter, connection } = instance;
      const limit = rule(2, 150, { name: `expiry-${algorithm}` });
      await limiter.consume('client-e', limit);
      await limiter.consume('client-e', limit);
      expect((await limiter.consume('client-e', limit)).allowed).toBe(false);
      const key = limiter.redisKey('client-e', limit);
      expect(await connection.client.type(key)).toBe(keyType);
      const ttl = await connection.client.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      // The sorted-set log lives a window past its newest admission; the counter and the packed log
      // until the end of the window-long epoch after it (so between one and two windows).
      expect(ttl).toBeLessThanOrEqual(keyType === 'zset' ? 150 : 300);
      await eventually(async () => expect(await connection.client.exists(key)).toBe(0));
      expect((await limiter.consume('client-e', limit)).allowed).toBe(true);
    });
  });

  it("keeps a small limit's log packed: 8 bytes per unit, expired ones dropped once they are the majority", async () => {
    const { limiter, connection } = instance;
    // Each step needs an earlier entry in or out of the window; the sleeps give those 700 ms either
    // way, so a machine stalling for a moment under load does not move an entry across the edge.
    const limit: RateLimitRule = { name: 'packed', limit: 10, windowMs: 1_500 };
    const key = limiter.redisKey('client-p', limit);
    await limiter.consume('client-p', { ...limit, cost: 3 }); // a: 3 units at 0 ms
    expect(await connection.client.strlen(key)).toBe(24);
    expect((await limiter.consume('client-p', { ...limit, cost: 8 })).allowed).toBe(false);
    expect(await connection.client.strlen(key)).toBe(24); // the refusal wrote nothing
    await sleep(750);
    await limiter.consume('client-p', limit); // b: 1 unit at 750 ms
    expect(await connection.client.strlen(key)).toBe(32);
    await sleep(800);
    // c: 5 units at 1,550 ms. a has left the window: 3 expired entries of 4, rewritten without them.
    expect(await limiter.consume('client-p', { ...limit, cost: 5 })).toMatchObject({
      allowed: true,
      remaining: 4,
    });
    expect(await connection.client.strlen(key)).toBe(48);
    await sleep(800);
    // d at 2,350 ms: b has left too, 1 expired entry of 6, kept until expired ones are the majority.
    expect(await limiter.consume('client-p', limit)).toMatchObject({ allowed: true, remaining: 4 });
    expect(await connection.client.strlen(key)).toBe(56);
  });

  it('decides several limits in one call: the stricter refuses and neither is charged', async () => {
    const { limiter } = instance;
    const perSecond: RateLimitRule = { name: 'multi-second', limit: 3, windowMs: 1_000 };
    const perHour: RateLimitRule = {
      name: 'multi-hour',
      limit: 100,
      windowMs: 3_600_000,
      algorithm: 'sliding-counter',
    };
    for (let index = 0; index < 3; index += 1) {
      expect((await limiter.consumeAll('client-f', [perSecond, perHour])).allowed).toBe(true);
    }
    const refused = await limiter.consumeAll('client-f', [perSecond, perHour]);
    expect(refused.allowed).toBe(false);
    expect(refused.results[0]).toMatchObject({ name: 'multi-second', remaining: 0 });
    expect(refused.results[0]!.retryAfterMs).toBeGreaterThan(0);
    expect(refused.results[1]).toMatchObject({ name: 'multi-hour', remaining: 97, retryAfterMs: 0 });
    expect(refused.retryAfterMs).toBe(refused.results[0]!.retryAfterMs);
    expect((await limiter.peek('client-f', perHour)).remaining).toBe(97);
    await sleep(refused.retryAfterMs + 20);
    expect((await limiter.consumeAll('client-f', [perSecond, perHour])).allowed).toBe(true);
    expect((await limiter.peek('client-f', perHour)).remaining).toBe(96);
  });

  it('charges no identity when another identity refuses (one call standalone, refunded on a Cluster)', async () => {
    const { limiter } = instance;
    const perUser: RateLimitRule = { name: 'cross-user', limit: 1, windowMs: 60_000 };
    const perAddressLog: RateLimitRule = { name: 'cross-ip-log', limit: 10, windowMs: 60_000 };
    const perAddressCounter: RateLimitRule = {
      name: 'cross-ip-counter',
      limit: 10,
      windowMs: 60_000,
      algorithm: 'sliding-counter',
    };
    // Above 256 units the log is a sorted set: both forms are refunded.
    const perAddressSet: RateLimitRule = { name: 'cross-ip-set', limit: 5_000, windowMs: 60_000 };
    const request = (user: string) => [
      { key: `user:${user}`, limit: perUser },
      { key: 'ip:10.1.1.1', limit: perAddressLog },
      { key: 'ip:10.1.1.1', limit: perAddressCounter },
      { key: 'ip:10.1.1.1', limit: perAddressSet },
    ];
    expect((await limiter.check(request('ann'))).allowed).toBe(true);
    const refused = await limiter.check(request('ann'));
    expect(refused.allowed).toBe(false);
    expect(refused.results.map((result) => result.remaining)).toEqual([0, 9, 9, 4_999]);
    expect((await limiter.peek('ip:10.1.1.1', perAddressLog)).remaining).toBe(9);
    expect((await limiter.peek('ip:10.1.1.1', perAddressCounter)).remaining).toBe(9);
    expect((await limiter.peek('ip:10.1.1.1', perAddressSet)).remaining).toBe(4_999);
    expect((await limiter.check(request('ben'))).allowed).toBe(true);
    expect((await limiter.peek('ip:10.1.1.1', perAddressLog)).remaining).toBe(8);
    expect((await limiter.peek('ip:10.1.1.1', perAddressCounter)).remaining).toBe(8);
    expect((await limiter.peek('ip:10.1.1.1', perAddressSet)).remaining).toBe(4_998);
  });

  it('keeps hostile identifiers apart: long, binary, hash-tag and separator characters', async () => {
    const { limiter } = instance;
    const limit: RateLimitRule = { name: 'hostile', limit: 1, windowMs: 60_000 };
    const long = 'x'.repeat(10_000);
    const identities = [
      long,
      `${long}y`,
      '\u0000\u00ff\ud83d\ude00',
      '\u0000\u00ff',
      '{client-g}',
      'client-g',
      'a}:{b',
      'a',
      'x:y',
      'x%3Ay',
      '*',
      '}',
    ];
    const keys = identities.map((identity) => limiter.redisKey(identity, limit));
    expect(new Set(keys).size).toBe(identities.length);
    for (const key of keys) {
      // Exactly one hash tag, and it is the one redkit opened.
      expect(key.split('{').length).toBe(2);
      expect(key.split('}').length).toBe(2);
      expect(Buffer.byteLength(key)).toBeLessThan(300);
    }
    for (const identity of identities) expect((await limiter.consume(identity, limit)).allowed).toBe(true);
    for (const identity of identities) expect((await limiter.consume(identity, limit)).allowed).toBe(false);
  });
});
