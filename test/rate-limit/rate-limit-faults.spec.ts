import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RateLimitRule } from '@redkit/rate-limit';

import { RedisServer, eventually } from '../harness/index.js';
import { metricValue, openLimiter, type LimiterInstance } from './rate-limit-test-kit.js';

describe('RateLimiterService while Redis is paused', () => {
  let server: RedisServer;
  let plain: LimiterInstance;
  let insured: LimiterInstance;
  const open: RateLimitRule = { name: 'fault-open', limit: 2, windowMs: 60_000 };
  const closed: RateLimitRule = { name: 'fault-closed', limit: 2, windowMs: 60_000, onRedisError: 'closed' };

  beforeAll(async () => {
    server = await RedisServer.start();
    plain = await openLimiter({ url: server.url, commandTimeoutMs: 400 });
    insured = await openLimiter({ url: server.url, commandTimeoutMs: 400 }, { insurance: { share: 1 } });
  });

  afterAll(async () => {
    server?.resume();
    await plain?.close();
    await insured?.close();
    await server?.stop();
  });

  it('fails open by default, closed where a limit says so, counts errors, and recovers after resume', async () => {
    const { limiter, metrics } = plain;
    // Fill the limit first, so a fail-open answer is visibly not Redis's.
    await limiter.consume('client', open);
    await limiter.consume('client', open);
    expect((await limiter.consume('client', open)).allowed).toBe(false);
    server.pause();
    try {
      const whileDown = await limiter.consume('client', open);
      expect(whileDown).toMatchObject({ allowed: true, source: 'fail-open' });
      expect(await limiter.consume('client', closed)).toMatchObject({
        allowed: false,
        source: 'fail-closed',
      });
      const both = await limiter.consumeAll('client', [open, closed]);
      expect(both).toMatchObject({ allowed: false, source: 'fail-closed' });
      expect(both.retryAfterMs).toBeGreaterThan(0);
      expect(
        await metricValue(metrics, 'redkit_ratelimit_requests_total{limit="fault-open",outcome="error"}'),
      ).toBe(2);
      expect(
        await metricValue(metrics, 'redkit_ratelimit_requests_total{limit="fault-closed",outcome="error"}'),
      ).toBe(2);
    } finally {
      server.resume();
    }
    await eventually(async () => {
      expect(await limiter.consume('client', open)).toMatchObject({ allowed: false, source: 'redis' });
    });
    expect(await limiter.consume('other', closed)).toMatchObject({ allowed: true, source: 'redis' });
  });

  it('lets the in-memory insurance limiter decide while Redis is away', async () => {
    const { limiter } = insured;
    const rule: RateLimitRule = { name: 'insured', limit: 3, windowMs: 60_000 };
    server.pause();
    try {
      const results = [];
      for (let index = 0; index < 4; index += 1) results.push(await limiter.consume('client', rule));
      expect(results.map((result) => result.source)).toEqual([
        'insurance',
        'insurance',
        'insurance',
        'insurance',
      ]);
      expect(results.map((result) => result.allowed)).toEqual([true, true, true, false]);
      expect(results[3]!.retryAfterMs).toBeGreaterThan(0);
    } finally {
      server.resume();
    }
    // Back on Redis. The timed-out checks had been sent, so the resumed server ran them too: an
    // outage errs toward counting a request twice (here and in memory), never toward losing it.
    await eventually(async () => {
      expect(await limiter.peek('client', rule)).toMatchObject({
        allowed: false,
        remaining: 0,
        source: 'redis',
      });
    });
    expect(await limiter.peek('someone-else', rule)).toMatchObject({ allowed: true, source: 'redis' });
  });
});
