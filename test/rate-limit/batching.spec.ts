import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { RateLimitRule } from '@redkit/rate-limit';
import { Redis } from 'ioredis';

import { RedisServer, eventually } from '../harness/index.js';
import { openLimiter, type LimiterInstance } from './rate-limit-test-kit.js';

/** EVALSHA calls the server has answered since the last CONFIG RESETSTAT. */
async function evalshaCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  const match = /cmdstat_evalsha:calls=(\d+)/.exec(info);
  return match === null ? 0 : Number(match[1]);
}

describe('RateLimiterService coalesces the checks of one event-loop turn (own server)', () => {
  let server: RedisServer;
  let admin: Redis;
  let batched: LimiterInstance;
  let unbatched: LimiterInstance;
  let run = 0;
  /** A fresh identity per test, so tests never share state. */
  let id = '';

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
    // Short enough that the paused-server test answers in seconds, long enough that a 500-check burst
    // on a CI machine running three Node lines side by side is never taken for an outage (400 ms was).
    batched = await openLimiter({ url: server.url, commandTimeoutMs: 2_000 });
    unbatched = await openLimiter({ url: server.url }, { coalesce: false });
  });

  afterAll(async () => {
    server?.resume();
    await batched?.close();
    await unbatched?.close();
    await admin?.quit();
    await server?.stop();
  });

  beforeEach(() => {
    run += 1;
    id = `client-${run}`;
  });

  // The sorted-set form of the log (above 256 units) weighs each check 20 units of a 2,000 limit.
  it.each([
    { label: 'sliding-log', algorithm: 'sliding-log', scale: 1 },
    { label: 'sliding-log, sorted-set form', algorithm: 'sliding-log', scale: 20 },
    { label: 'sliding-counter', algorithm: 'sliding-counter', scale: 1 },
  ] as const)(
    '$label: 500 checks of one key started in one turn admit exactly the limit, in arrival order',
    async ({ algorithm, scale }) => {
      const rule: RateLimitRule = {
        name: `burst-${algorithm}-${scale}`,
        limit: 100 * scale,
        cost: scale,
        windowMs: 60_000,
        algorithm,
      };
      await admin.config('RESETSTAT');
      const results = await Promise.all(Array.from({ length: 500 }, () => batched.limiter.consume(id, rule)));
      expect(results.every((result) => result.source === 'redis')).toBe(true);
      expect(results.filter((result) => result.allowed)).toHaveLength(100);
      // The first 100 to arrive are the admitted ones, with the remaining count going down.
      expect(results.slice(0, 100).every((result) => result.allowed)).toBe(true);
      expect(results.slice(0, 100).map((result) => result.remaining)).toEqual(
        Array.from({ length: 100 }, (_, index) => (99 - index) * scale),
      );
      for (const refused of results.slice(100)) {
        expect(refused).toMatchObject({ allowed: false, remaining: 0 });
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(120_000);
      }
      // 500 checks in batches of at most 32 keys: 16 script calls, not 500.
      expect(await evalshaCalls(admin)).toBeLessThanOrEqual(16);
      expect((await batched.limiter.peek(id, rule)).remaining).toBe(0);
    },
  );

  it('sliding log in a batch answers like one check at a time: remaining, reset, retry', async () => {
    const rule: RateLimitRule = { name: 'same-answers', limit: 2, windowMs: 10_000 };
    const [first, second, third] = await Promise.all([
      batched.limiter.consume(id, rule),
      batched.limiter.consume(id, rule),
      batched.limiter.consume(id, rule),
    ]);
    expect(first).toMatchObject({ allowed: true, remaining: 1, resetMs: 10_000, retryAfterMs: 0 });
    expect(second).toMatchObject({ allowed: true, remaining: 0, resetMs: 10_000, retryAfterMs: 0 });
    // The oldest admission is this batch's own: the wait is the whole window.
    expect(third).toMatchObject({ allowed: false, remaining: 0, resetMs: 10_000, retryAfterMs: 10_000 });
    // The same state seen one check at a time, without batching.
    const alone = await unbatched.limiter.consume(id, rule);
    expect(alone.allowed).toBe(false);
    expect(alone.retryAfterMs).toBeGreaterThan(9_000);
    expect(alone.retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(alone.resetMs).toBeGreaterThan(9_000);
  });

  it('mixed keys, algorithms, costs, peeks and multi-limit checks in one batch each get their own answer', async () => {
    const log: RateLimitRule = { name: 'mixed-log', limit: 3, windowMs: 60_000 };
    const counter: RateLimitRule = {
      name: 'mixed-counter',
      limit: 2,
      windowMs: 60_000,
      algorithm: 'sliding-counter',
    };
    const heavy: RateLimitRule = { name: 'mixed-heavy', limit: 5, windowMs: 60_000, cost: 3 };
    const loose: RateLimitRule = { name: 'mixed-loose', limit: 5, windowMs: 60_000 };
    const strict: RateLimitRule = {
      name: 'mixed-strict',
      limit: 1,
      windowMs: 60_000,
      algorithm: 'sliding-counter',
    };
    const { limiter } = batched;
    await admin.config('RESETSTAT');
    const answers = await Promise.all([
      limiter.consume(`${id}-a`, log),
      limiter.consume(`${id}-b`, counter),
      limiter.consumeAll(`${id}-c`, [loose, strict]),
      limiter.consume(`${id}-a`, log),
      limiter.consume(`${id}-h`, heavy),
      limiter.consume(`${id}-b`, counter),
      limiter.consumeAll(`${id}-c`, [loose, strict]),
      limiter.peek(`${id}-a`, log),
      limiter.consume(`${id}-a`, log),
      limiter.consume(`${id}-b`, counter),
      limiter.consume(`${id}-h`, heavy),
      limiter.consume(`${id}-a`, log),
      limiter.consumeAll(`${id}-c`, [loose, strict]),
    ]);
    expect(await evalshaCalls(admin)).toBe(1);
    const allowed = answers.map((answer) => answer.allowed);
    expect(allowed).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      false,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    // Peek saw the two admissions before it and charged nothing: the third consume still fits.
    expect(answers[7]).toMatchObject({ allowed: true, remaining: 1 });
    expect(answers[8]).toMatchObject({ allowed: true, remaining: 0 });
    // Cost 3 of 5: one admitted with 2 left, the next refused.
    expect(answers[4]).toMatchObject({ allowed: true, remaining: 2 });
    expect(answers[10]).toMatchObject({ allowed: false, remaining: 2 });
    // The refused multi-limit checks charged neither limit: `loose` counted one request only.
    const refusedCombined = answers[6] as { results: Array<{ name: string; remaining: number }> };
    expect(refusedCombined.results.map((result) => result.remaining)).toEqual([4, 0]);
    expect((await limiter.peek(`${id}-c`, loose)).remaining).toBe(4);
    expect((await limiter.peek(`${id}-a`, log)).remaining).toBe(0);
    expect((await limiter.peek(`${id}-b`, counter)).remaining).toBe(0);
  });

  it('a multi-limit check refused in a batch charges none of its limits', async () => {
    const full: RateLimitRule = { name: 'refuse-full', limit: 1, windowMs: 60_000 };
    const roomy: RateLimitRule = { name: 'refuse-roomy', limit: 10, windowMs: 60_000 };
    const roomyCounter: RateLimitRule = {
      name: 'refuse-roomy-counter',
      limit: 10,
      windowMs: 60_000,
      algorithm: 'sliding-counter',
    };
    const { limiter } = batched;
    await limiter.consume(id, full);
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.check([
          { key: `${id}-other`, limit: roomy },
          { key: id, limit: full },
          { key: `${id}-other`, limit: roomyCounter },
        ]),
      ),
    );
    for (const decision of decisions) {
      expect(decision).toMatchObject({ allowed: false, source: 'redis' });
      expect(decision.retryAfterMs).toBeGreaterThan(0);
    }
    expect((await limiter.peek(`${id}-other`, roomy)).remaining).toBe(10);
    expect((await limiter.peek(`${id}-other`, roomyCounter)).remaining).toBe(10);
  });

  it('far fewer EVALSHA calls than checks across many keys', async () => {
    const rule: RateLimitRule = { name: 'many-keys', limit: 1_000, windowMs: 60_000 };
    await admin.config('RESETSTAT');
    let checks = 0;
    // 64 callers in flight, each checking the next of 200 keys as soon as its last answer came.
    const caller = async (start: number) => {
      for (let index = 0; index < 20; index += 1) {
        const result = await batched.limiter.consume(`${id}-${(start + index * 64) % 200}`, rule);
        expect(result).toMatchObject({ allowed: true, source: 'redis' });
        checks += 1;
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, start) => caller(start)));
    expect(checks).toBe(1_280);
    const calls = await evalshaCalls(admin);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(checks / 10);
  });

  it('recovers from a flushed script cache (NOSCRIPT) for batches and lone checks alike', async () => {
    const rule: RateLimitRule = { name: 'noscript', limit: 10, windowMs: 60_000 };
    await admin.script('FLUSH');
    const batch = await Promise.all(Array.from({ length: 5 }, () => batched.limiter.consume(id, rule)));
    expect(batch.map((result) => result.source)).toEqual(['redis', 'redis', 'redis', 'redis', 'redis']);
    await admin.script('FLUSH');
    expect(await batched.limiter.consume(id, rule)).toMatchObject({
      allowed: true,
      remaining: 4,
      source: 'redis',
    });
  });

  it('while Redis is paused every check of a batch gets its fail-open or fail-closed answer', async () => {
    const open: RateLimitRule = { name: 'paused-open', limit: 100, windowMs: 60_000 };
    const closed: RateLimitRule = {
      name: 'paused-closed',
      limit: 100,
      windowMs: 60_000,
      onRedisError: 'closed',
    };
    const { limiter } = batched;
    server.pause();
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          limiter.consume(`${id}-${index}`, index % 2 ? closed : open),
        ),
      );
      results.forEach((result, index) => {
        if (index % 2) expect(result).toMatchObject({ allowed: false, source: 'fail-closed' });
        else expect(result).toMatchObject({ allowed: true, source: 'fail-open' });
      });
    } finally {
      server.resume();
    }
    await eventually(async () => {
      const results = await Promise.all([limiter.consume(id, open), limiter.consume(id, closed)]);
      expect(results.map((result) => result.source)).toEqual(['redis', 'redis']);
    });
  });
});
