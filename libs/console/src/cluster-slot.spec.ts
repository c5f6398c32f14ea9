import { describe, expect, it } from '@jest/globals';

import { slotOf } from './cluster-slot.js';

describe('slotOf', () => {
  it('hashes as Redis Cluster does (CLUSTER KEYSLOT)', () => {
    expect(slotOf('foo')).toBe(12_182);
    expect(slotOf('123456789')).toBe(12_739);
  });

  it('hashes only a non-empty hash tag', () => {
    expect(slotOf('redkit:messaging:{orders}:stream')).toBe(slotOf('orders'));
    expect(slotOf('a{}b')).toBe(slotOf('a{}b'));
    expect(slotOf('a{}b')).not.toBe(slotOf(''));
  });
});
