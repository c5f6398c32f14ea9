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

  it('resolves durability with its default wait, and leaves it off when not given', () => {
    expect(resolveRateLimitOptions({}).durability).toBeUndefined();
    expect(resolveRateLimitOptions({ durability: { replicas: 1 } }).durability).toEqual({
      replicas: 1,
      timeoutMs: 500,
    });
    // The default wait is at most half the connection's commandTimeoutMs.
    expect(resolveRateLimitOptions({ durability: { replicas: 2 } }, 600).durability).toEqual({
      replicas: 2,
      timeoutMs: 300,
    });
  });

  it.each([
    [{ replicas: 0 }, 1_000, 'durability.replicas'],
    [{ replicas: 1.5 }, 1_000, 'durability.replicas'],
    [{ replicas: 1, timeoutMs: 0 }, 1_000, 'durability.timeoutMs'],
    [{ replicas: 1, timeoutMs: 501 }, 1_000, 'durability.timeoutMs'],
    [{ replicas: 1 }, 1, 'durability.timeoutMs'],
    ['yes', 1_000, 'durability'],
  ])('refuses durability %j (commandTimeoutMs %d) naming %s', (durability, commandTimeoutMs, option) => {
    expect(() => resolveRateLimitOptions({ durability: durability as never }, commandTimeoutMs)).toThrow(
      `"${option}"`,
    );
  });
});
