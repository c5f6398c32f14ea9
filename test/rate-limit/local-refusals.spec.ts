import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RateLimitRule } from '@redkit/rate-limit';
import { Redis } from 'ioredis';

import { RedisServer } from '../harness/index.js';
import { openLimiter, type LimiterInstance } from './rate-limit-test-kit.js';

/** Scripts run by the server so far (EVALSHA and EVAL calls), from INFO commandstats. */
async function scriptCalls(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

describe('localRefusalMs: refusals Redis just gave, served again without a round trip', () => {
  // Its own server, so that the script calls counted are this file's only.
  let server: RedisServer;
  let admin: Redis;
  let instance: LimiterInstance;
  let other: LimiterInstance;
  // A long window: nothing in these tests waits for it to pass (RefusalMemo's own tests cover expiry).
  const rule: RateLimitRule = { name: 'burst', limit: 2, windowMs: 60_000 };

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
    // Long enough that a loaded machine never outlasts it between a refusal and the checks after it.
    instance = await openLimiter({ url: server.url }, { localRefusalMs: 30_000 });
    other = await openLimiter({ url: server.url });
  });

  afterAll(async () => {
    await instance?.close();
    await other?.close();
    admin?.disconnect();
    await server?.stop();
  });

  it('refuses a client past its limit locally, without a round trip, counting its wait down', async () => {
    const { limiter } = instance;
    expect((await limiter.consume('flooder', rule)).allowed).toBe(true);
    expect((await limiter.consume('flooder', rule)).allowed).toBe(true);
    const refused = await limiter.consume('flooder', rule);
    expect(refused).toMatchObject({ allowed: false, source: 'redis', remaining: 0 });

    const before = await scriptCalls(admin);
    const again = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('flooder', rule)));
    expect(await scriptCalls(admin)).toBe(before);
    for (const outcome of again) {
      expect(outcome).toMatchObject({ allowed: false, source: 'refused-locally', remaining: 0 });
      expect(outcome.retryAfterMs).toBeGreaterThan(0);
      expect(outcome.retryAfterMs).toBeLessThanOrEqual(refused.retryAfterMs);
    }
    // Another client, and the same client through another instance, still go to Redis.
    expect(await limiter.consume('someone-else', rule)).toMatchObject({ allowed: true, source: 'redis' });
    expect(await other.limiter.consume('flooder', rule)).toMatchObject({ allowed: false, source: 'redis' });
  });

  it('never refuses locally what Redis would admit: a cheaper request, a peek, another limit', async () => {
    const { limiter } = instance;
    const costly: RateLimitRule = { name: 'costly', limit: 10, windowMs: 60_000 };
    expect((await limiter.consume('buyer', { ...costly, cost: 7 })).remaining).toBe(3);
    expect((await limiter.consume('buyer', { ...costly, cost: 5 })).allowed).toBe(false);
    expect(await limiter.consume('buyer', { ...costly, cost: 5 })).toMatchObject({
      allowed: false,
      source: 'refused-locally',
    });
    // A request of cost 3 still fits: the refusal of a 5 says nothing about it.
    expect(await limiter.consume('buyer', { ...costly, cost: 3 })).toMatchObject({
      allowed: true,
      source: 'redis',
    });
    expect(await limiter.peek('buyer', costly)).toMatchObject({ allowed: false, source: 'redis' });
  });

  it('decides several limits together from memory only when the same limits refused together', async () => {
    const { limiter } = instance;
    const perSecond: RateLimitRule = { name: 'combined-a', limit: 1, windowMs: 60_000 };
    const perMinute: RateLimitRule = { name: 'combined-b', limit: 5, windowMs: 60_000 };
    expect((await limiter.consumeAll('pair', [perSecond, perMinute])).allowed).toBe(true);
    expect(await limiter.consumeAll('pair', [perSecond, perMinute])).toMatchObject({
      allowed: false,
      source: 'redis',
    });
    const before = await scriptCalls(admin);
    const local = await limiter.consumeAll('pair', [perSecond, perMinute]);
    expect(local).toMatchObject({ allowed: false, source: 'refused-locally' });
    expect(local.results.map((result) => [result.name, result.remaining])).toEqual([
      ['combined-a', 0],
      ['combined-b', 4],
    ]);
    expect(await scriptCalls(admin)).toBe(before);
    // The looser limit alone is another check: Redis admits it.
    expect(await limiter.consume('pair', perMinute)).toMatchObject({ allowed: true, source: 'redis' });
  });

  it('forgets the refusals of a client reset on this instance', async () => {
    const { limiter } = instance;
    const one: RateLimitRule = { name: 'one', limit: 1, windowMs: 60_000 };
    await limiter.consume('resettable', one);
    expect((await limiter.consume('resettable', one)).allowed).toBe(false);
    await limiter.reset('resettable');
    expect(await limiter.consume('resettable', one)).toMatchObject({ allowed: true, source: 'redis' });
  });

  it('is off by default: Redis decides every request', async () => {
    const one: RateLimitRule = { name: 'default-off', limit: 1, windowMs: 60_000 };
    await other.limiter.consume('client', one);
    expect(await other.limiter.consume('client', one)).toMatchObject({ allowed: false, source: 'redis' });
    expect(await other.limiter.consume('client', one)).toMatchObject({ allowed: false, source: 'redis' });
  });
});
