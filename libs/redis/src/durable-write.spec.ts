import { describe, expect, it } from '@jest/globals';

import { resolveDurability } from './durable-write.js';
import { RedisOptionsError } from './redis.errors.js';

const fail = (option: string, reason: string) => new RedisOptionsError(option, reason);

function refusal(value: unknown, commandTimeoutMs = 1_000): RedisOptionsError | undefined {
  try {
    resolveDurability(value, commandTimeoutMs, fail);
  } catch (error) {
    return error as RedisOptionsError;
  }
  return undefined;
}

describe('resolveDurability', () => {
  it('is off when the option is not given', () => {
    expect(resolveDurability(undefined, 1_000, fail)).toBeUndefined();
  });

  it('waits 500 ms by default, or half the command timeout when that is less', () => {
    expect(resolveDurability({ replicas: 1 }, 1_000, fail)).toEqual({ replicas: 1, timeoutMs: 500 });
    expect(resolveDurability({ replicas: 2 }, 5_000, fail)).toEqual({ replicas: 2, timeoutMs: 500 });
    expect(resolveDurability({ replicas: 1 }, 600, fail)).toEqual({ replicas: 1, timeoutMs: 300 });
    expect(resolveDurability({ replicas: 1, timeoutMs: 2_500 }, 5_000, fail)).toEqual({
      replicas: 1,
      timeoutMs: 2_500,
    });
  });

  it.each([
    [null, 'durability', /must be an object/],
    [{ replicas: 0 }, 'durability.replicas', /from 1 to 100/],
    [{ replicas: 1.5 }, 'durability.replicas', /whole number/],
    [{ replicas: '1' }, 'durability.replicas', /got "1"/],
    [{ replicas: 1, timeoutMs: 0 }, 'durability.timeoutMs', /from 1 to 500/],
    [{ replicas: 1, timeoutMs: 501 }, 'durability.timeoutMs', /half the connection's commandTimeoutMs/],
  ])('refuses %j naming %s', (value, option, reason) => {
    const error = refusal(value);
    expect(error?.option).toBe(option);
    expect(error?.message).toMatch(reason);
  });

  it('says when the command timeout leaves no time to wait', () => {
    expect(refusal({ replicas: 1 }, 1)?.message).toMatch(/leaves no time/);
  });

  it('names the option as the module calls it', () => {
    expect(refusal({ replicas: 0 }, 1_000)?.option).toBe('durability.replicas');
    let caught: unknown;
    try {
      resolveDurability({ replicas: 0 }, 1_000, fail, 'streams.durability');
    } catch (error) {
      caught = error;
    }
    expect((caught as RedisOptionsError).option).toBe('streams.durability.replicas');
  });
});
