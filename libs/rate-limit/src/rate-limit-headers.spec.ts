import { describe, expect, it } from '@jest/globals';

import { mostRestrictive, rateLimitHeaders } from './rate-limit-headers.js';
import type { RateLimitResult } from './rate-limiter.service.js';

const perSecond: RateLimitResult = {
  name: 'per-second',
  allowed: true,
  limit: 10,
  windowMs: 1_000,
  remaining: 3,
  resetMs: 400,
  retryAfterMs: 0,
};
const perHour: RateLimitResult = {
  name: 'per-hour',
  allowed: true,
  limit: 500,
  windowMs: 3_600_000,
  remaining: 480,
  resetMs: 3_599_001,
  retryAfterMs: 0,
};

describe('rateLimitHeaders', () => {
  it('writes the IETF draft fields as structured-field lists, one item per limit', () => {
    expect(rateLimitHeaders([perSecond, perHour], ['ietf'])).toEqual([
      ['RateLimit-Policy', '"per-second";q=10;w=1, "per-hour";q=500;w=3600'],
      ['RateLimit', '"per-second";r=3;t=1, "per-hour";r=480;t=3600'],
    ]);
  });

  it('writes the older forms for the most restrictive limit, and Retry-After in whole seconds', () => {
    expect(rateLimitHeaders([perHour, perSecond], ['ratelimit-legacy', 'x-ratelimit'], 1_200)).toEqual([
      ['RateLimit-Limit', '10'],
      ['RateLimit-Remaining', '3'],
      ['RateLimit-Reset', '1'],
      ['X-RateLimit-Limit', '10'],
      ['X-RateLimit-Remaining', '3'],
      ['X-RateLimit-Reset', '1'],
      ['Retry-After', '2'],
    ]);
  });

  it('never asks for a retry sooner than one second, and writes nothing without limits', () => {
    expect(rateLimitHeaders([], ['ietf'], 10)).toEqual([['Retry-After', '1']]);
    expect(rateLimitHeaders([], ['ietf'])).toEqual([]);
  });

  it('breaks ties on remaining by the longer reset', () => {
    expect(
      mostRestrictive([
        { ...perSecond, remaining: 0 },
        { ...perHour, remaining: 0 },
      ])?.name,
    ).toBe('per-hour');
  });
});
