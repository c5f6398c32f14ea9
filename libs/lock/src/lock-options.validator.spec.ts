import { describe, expect, it } from '@jest/globals';

import { LockOptionsError } from './lock.errors.js';
import { resolveAcquireOptions, resolveLockOptions } from './lock-options.validator.js';

describe('resolveLockOptions', () => {
  it('applies the defaults', () => {
    expect(resolveLockOptions()).toEqual({
      ttlMs: 10_000,
      retries: Infinity,
      retryDelayMs: 100,
      maxRetryDelayMs: 1_000,
      jitterMs: 50,
      maxWaitMs: 10_000,
      driftFactor: 0.01,
      extendAtFraction: 0.5,
      notifications: true,
      localHandoff: true,
      coalesce: true,
    });
  });

  it.each([
    [{ ttlMs: 0 }, 'ttlMs'],
    [{ ttlMs: 1.5 }, 'ttlMs'],
    [{ retries: -1 }, 'retries'],
    [{ retryDelayMs: 500, maxRetryDelayMs: 100 }, 'maxRetryDelayMs'],
    [{ jitterMs: -1 }, 'jitterMs'],
    [{ driftFactor: 0.5 }, 'driftFactor'],
    [{ extendAtFraction: 1 }, 'extendAtFraction'],
    [{ notifications: 'yes' }, 'notifications'],
    [{ coalesce: 1 }, 'coalesce'],
    [{ durability: true }, 'durability'],
    [{ durability: { replicas: 0 } }, 'durability.replicas'],
    [{ durability: { replicas: 1, timeoutMs: 0 } }, 'durability.timeoutMs'],
    [{ durability: { replicas: 1, timeoutMs: 501 } }, 'durability.timeoutMs'],
  ])('refuses %j naming %s', (options, option) => {
    expect(() => resolveLockOptions(options as never)).toThrow(LockOptionsError);
    expect(() => resolveLockOptions(options as never)).toThrow(`"${option}"`);
  });

  it('bounds durability.timeoutMs by half the connection command timeout, its default included', () => {
    expect(resolveLockOptions({ durability: { replicas: 2 } }).durability).toEqual({
      replicas: 2,
      timeoutMs: 500,
    });
    expect(resolveLockOptions({ durability: { replicas: 1 } }, 300).durability).toEqual({
      replicas: 1,
      timeoutMs: 150,
    });
    expect(() => resolveLockOptions({ durability: { replicas: 1, timeoutMs: 2_000 } }, 3_000)).toThrow(
      'from 1 to 1500',
    );
    expect(resolveLockOptions().durability).toBeUndefined();
  });

  it('checks only the per-call options given', () => {
    const defaults = resolveLockOptions({ ttlMs: 5_000 });
    expect(resolveAcquireOptions(defaults, undefined)).toBe(defaults);
    expect(resolveAcquireOptions(defaults, { maxWaitMs: 0 }).maxWaitMs).toBe(0);
    expect(resolveAcquireOptions(defaults, { retries: 3 })).toMatchObject({ ttlMs: 5_000, retries: 3 });
    expect(() => resolveAcquireOptions(defaults, { ttlMs: -5 })).toThrow('"ttlMs"');
  });
});
