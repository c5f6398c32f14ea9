import { describe, expect, it } from '@jest/globals';

import type { RateLimitResult } from './rate-limiter.service.js';
import { RefusalMemo } from './refusal-memo.js';

const refused = (retryAfterMs: number, resetMs = retryAfterMs): RateLimitResult => ({
  name: 'burst',
  allowed: false,
  limit: 2,
  windowMs: 60_000,
  remaining: 0,
  resetMs,
  retryAfterMs,
});

describe('RefusalMemo', () => {
  it('holds a refusal from when its check was sent until its retry time, counting the wait down', () => {
    const memo = new RefusalMemo(1_000);
    memo.remember('k', 100, 400, [refused(400)]);
    expect(memo.recall('k', 99)?.[0]?.retryAfterMs).toBe(401);
    expect(memo.recall('k', 350)?.[0]).toMatchObject({ allowed: false, retryAfterMs: 150, resetMs: 150 });
    expect(memo.recall('k', 499.5)?.[0]?.retryAfterMs).toBe(1);
    // Redis decided after the check was sent: at sentAt + retryAfterMs it may admit, so ask it.
    expect(memo.recall('k', 500)).toBeUndefined();
    expect(memo.recall('k', 350)).toBeUndefined();
  });

  it('holds it no longer than its bound, and not at all with a bound of 0 or nothing to wait for', () => {
    const memo = new RefusalMemo(1_000);
    memo.remember('long', 0, 60_000, [refused(60_000)]);
    expect(memo.recall('long', 999)?.[0]?.retryAfterMs).toBe(59_001);
    expect(memo.recall('long', 1_000)).toBeUndefined();
    memo.remember('nothing', 0, 0, [refused(0)]);
    expect(memo.recall('nothing', 0)).toBeUndefined();
    const off = new RefusalMemo(0);
    expect(off.enabled).toBe(false);
    off.remember('k', 0, 500, [refused(500)]);
    expect(off.recall('k', 1)).toBeUndefined();
  });

  it('keeps the limits that allowed beside the one that refused, with a wait of 0', () => {
    const memo = new RefusalMemo(1_000);
    const allowing: RateLimitResult = { ...refused(0, 30_000), name: 'loose', remaining: 4 };
    memo.remember('pair', 0, 500, [refused(500), allowing]);
    expect(memo.recall('pair', 100)).toEqual([
      { ...refused(400), resetMs: 400 },
      { ...allowing, allowed: false, retryAfterMs: 0, resetMs: 29_900 },
    ]);
  });

  it('forgets the refusals of a reset identity, and the oldest past its size', () => {
    const memo = new RefusalMemo(1_000, 2);
    memo.remember('rl:{ip%3A1}:burst', 0, 500, [refused(500)]);
    memo.remember('rl:{ip%3A2}:burst', 0, 500, [refused(500)]);
    memo.forget('rl:{ip%3A1}');
    expect(memo.recall('rl:{ip%3A1}:burst', 1)).toBeUndefined();
    expect(memo.recall('rl:{ip%3A2}:burst', 1)).toBeDefined();
    memo.remember('c', 0, 500, [refused(500)]);
    memo.remember('d', 0, 500, [refused(500)]);
    expect(memo.recall('rl:{ip%3A2}:burst', 1)).toBeUndefined();
    expect(memo.recall('c', 1)).toBeDefined();
    expect(memo.recall('d', 1)).toBeDefined();
  });
});
