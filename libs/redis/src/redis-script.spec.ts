import { describe, expect, it } from '@jest/globals';

import { RedisScriptError } from './redis.errors.js';
import { defineScript } from './redis-script.js';

describe('defineScript', () => {
  it('computes the SHA-1 EVALSHA needs once, at definition', () => {
    const script = defineScript({ name: 'test_echo', numberOfKeys: 0, lua: 'return 1' });
    expect(script.sha1).toBe('e0e1f9fabfc9d4800c877a703b823ac0578ff8db');
  });

  it('refuses a bad name, empty Lua or a negative key count', () => {
    expect(() => defineScript({ name: 'Bad Name', numberOfKeys: 0, lua: 'return 1' })).toThrow(
      RedisScriptError,
    );
    expect(() => defineScript({ name: 'ok', numberOfKeys: 0, lua: '  ' })).toThrow(RedisScriptError);
    expect(() => defineScript({ name: 'ok', numberOfKeys: -1, lua: 'return 1' })).toThrow(RedisScriptError);
  });
});
