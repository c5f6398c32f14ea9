import { describe, expect, it } from '@jest/globals';

import { InMemoryRateLimiter } from './in-memory-rate-limiter.js';
import { compilePolicy } from './rate-limit-options.validator.js';

const defaults = { algorithm: 'sliding-counter', onRedisError: 'open' } as const;

describe('InMemoryRateLimiter', () => {
  it('admits the limit per window, then refuses with a retry time, on its own clock', () => {
    let now = 10_000;
    const limiter = new InMemoryRateLimiter(1, 100, () => now);
    const policy = compilePolicy({ limit: 2, windowMs: 1_000 }, defaults);
    const verdicts = [0, 1, 2].map(() => limiter.check(['k'], [policy])[0]!.allowed);
    expect(verdicts).toEqual([true, true, false]);
    expect(limiter.check(['k'], [policy])[0]!.retryAfterMs).toBeGreaterThan(0);
    now += 2_000;
    expect(limiter.check(['k'], [policy])[0]!.allowed).toBe(true);
  });

  it('charges no limit when one refuses, and applies the share', () => {
    const limiter = new InMemoryRateLimiter(0.5, 100, () => 5_000);
    const strict = compilePolicy({ name: 'strict', limit: 2, windowMs: 60_000 }, defaults);
    const loose = compilePolicy({ name: 'loose', limit: 20, windowMs: 60_000 }, defaults);
    expect(limiter.check(['a', 'b'], [strict, loose]).map((result) => result.allowed)).toEqual([true, true]);
    const refused = limiter.check(['a', 'b'], [strict, loose]);
    expect(refused.map((result) => result.allowed)).toEqual([false, true]);
    expect(refused[1]!.remaining).toBe(9);
    expect(limiter.check(['b'], [loose])[0]!.remaining).toBe(8);
  });
});
