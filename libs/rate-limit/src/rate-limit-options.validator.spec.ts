import { describe, expect, it } from '@jest/globals';

import { compilePolicy, resolveRateLimitOptions } from './rate-limit-options.validator.js';

const defaults = { algorithm: 'sliding-log', onRedisError: 'open' } as const;

describe('rate-limit options', () => {
  it('compiles a limit with its defaults and a name from algorithm and window', () => {
    expect(compilePolicy({ limit: 10, windowMs: 1_000 }, defaults)).toMatchObject({
      name: 'sliding-log-1000',
      cost: 1,
      keySuffix: ':sliding-log-1000:p',
      args: ['3', '10', '1000', '1'],
    });
  });

  it('keeps the log of a limit up to 256 units packed, and of a larger one in a sorted set', () => {
    expect(compilePolicy({ limit: 256, windowMs: 1_000 }, defaults)).toMatchObject({
      keySuffix: ':sliding-log-1000:p',
      args: ['3', '256', '1000', '1'],
    });
    expect(compilePolicy({ limit: 257, windowMs: 1_000 }, defaults)).toMatchObject({
      keySuffix: ':sliding-log-1000:l',
      args: ['1', '257', '1000', '1'],
    });
    expect(
      compilePolicy({ limit: 10, windowMs: 1_000, algorithm: 'sliding-counter' }, defaults),
    ).toMatchObject({
      keySuffix: ':sliding-counter-1000:c',
      args: ['2', '10', '1000', '1'],
    });
  });

  it.each([
    [{ limit: 0, windowMs: 1_000 }, 'limit.limit'],
    [{ limit: 1.5, windowMs: 1_000 }, 'limit.limit'],
    [{ limit: 10, windowMs: -1 }, 'limit.windowMs'],
    [{ limit: 10, windowMs: 1_000, cost: 11 }, 'limit.cost'],
    [{ limit: 10, windowMs: 1_000, algorithm: 'token-bucket' }, 'limit.algorithm'],
    [{ limit: 10, windowMs: 1_000, name: 'has space' }, 'limit.name'],
    [{ limit: 10, windowMs: 1_000, onRedisError: 'maybe' }, 'limit.onRedisError'],
  ])('refuses %j naming %s', (rule, option) => {
    expect(() => compilePolicy(rule as never, defaults)).toThrow(`"${option}"`);
  });

  it('names the bad module option', () => {
    expect(() => resolveRateLimitOptions({ headers: ['nope' as never] })).toThrow('"headers[0]"');
    expect(() => resolveRateLimitOptions({ trustProxy: 'yes' as never })).toThrow('"trustProxy"');
    expect(() => resolveRateLimitOptions({ insurance: { share: 2 } })).toThrow('"insurance.share"');
    expect(() => resolveRateLimitOptions({ coalesce: 'yes' as never })).toThrow('"coalesce"');
    expect(() => resolveRateLimitOptions({ localRefusalMs: -1 })).toThrow('"localRefusalMs"');
    expect(() => resolveRateLimitOptions({ localRefusalMs: 1.5 })).toThrow('"localRefusalMs"');
    expect(() => resolveRateLimitOptions({ limits: [{ limit: 1, windowMs: 0 }] })).toThrow(
      '"limits[0].windowMs"',
    );
    expect(() =>
      resolveRateLimitOptions({ limits: [{ limit: 1, windowMs: 1, key: 'cookie' as never }] }),
    ).toThrow('"limits[0].key"');
  });
});
