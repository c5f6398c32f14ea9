import { describe, expect, it } from '@jest/globals';

import { InvalidKeyPartError } from './redis.errors.js';
import { RedisKeyspace, encodeKeyPart } from './redis-keyspace.js';

const limits = { maxPartBytes: 64 };

describe('encodeKeyPart', () => {
  it('leaves ordinary parts as they are', () => {
    expect(encodeKeyPart('user-42.profile', limits)).toBe('user-42.profile');
  });

  it('percent-encodes separators, hash-tag braces, glob characters and control characters', () => {
    expect(encodeKeyPart('a:b{c}*?[x]\\%\n\x00', limits)).toBe('a%3Ab%7Bc%7D%2A%3F%5Bx%5D%5C%25%0A%00');
  });

  it('is injective: distinct parts never encode alike', () => {
    const parts = ['a:b', 'a%3Ab', 'a%253Ab', '{a}', '%7Ba%7D', 'a', 'A'];
    const encoded = new Set(parts.map((part) => encodeKeyPart(part, limits)));
    expect(encoded.size).toBe(parts.length);
  });

  it('refuses empty parts and non-strings', () => {
    expect(() => encodeKeyPart('', limits)).toThrow(InvalidKeyPartError);
    expect(() => encodeKeyPart(42 as unknown as string, limits)).toThrow(InvalidKeyPartError);
  });

  it('refuses parts over the byte limit, counting UTF-8 bytes', () => {
    expect(() => encodeKeyPart('x'.repeat(65), limits)).toThrow('65 bytes, more than the 64 allowed');
    expect(() => encodeKeyPart('é'.repeat(33), limits)).toThrow(InvalidKeyPartError);
    expect(encodeKeyPart('é'.repeat(32), limits)).toBe('é'.repeat(32));
  });

  it('hashes long parts when asked, into a form no encoded part can take', () => {
    const hashed = encodeKeyPart('x'.repeat(1000), { ...limits, onTooLong: 'hash' });
    expect(hashed).toMatch(/^%H[0-9a-f]{64}$/);
    expect(hashed).not.toBe(encodeKeyPart('y'.repeat(1000), { ...limits, onTooLong: 'hash' }));
  });
});

describe('RedisKeyspace', () => {
  const keys = new RedisKeyspace('redkit', 'lock', limits);

  it('builds <prefix>:<module>:<parts>', () => {
    expect(keys.key('orders', '42')).toBe('redkit:lock:orders:42');
  });

  it('puts the tag in braces so related keys share a cluster slot', () => {
    expect(keys.tagged('orders:42', 'fence')).toBe('redkit:lock:{orders%3A42}:fence');
  });

  it('keeps a hostile tag from escaping its braces', () => {
    expect(keys.tagged('}x{', 'owner')).toBe('redkit:lock:{%7Dx%7B}:owner');
  });

  it('gives SCAN patterns for the module and for one tag', () => {
    expect(keys.pattern()).toBe('redkit:lock:*');
    expect(keys.pattern('a:b')).toBe('redkit:lock:\\{a%3Ab\\}*');
  });

  it('refuses a module name that could break the layout', () => {
    expect(() => new RedisKeyspace('redkit', 'a:b')).toThrow(InvalidKeyPartError);
  });
});
