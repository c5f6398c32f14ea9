import { describe, expect, it } from '@jest/globals';

import { L1Store } from './l1.store.js';

const entry = (size: number) => ({
  value: 'x',
  freshUntil: Date.now() + 60_000,
  staleUntil: Date.now() + 60_000,
  size,
  localUntil: Date.now() + 60_000,
});

describe('L1Store', () => {
  it('never holds more bytes than its bound, evicting least recently used entries', () => {
    const l1 = new L1Store(1_000, 10_000);
    for (let index = 0; index < 100; index += 1) l1.set(`k${index}`, entry(1_000), Date.now());
    expect(l1.bytes).toBeLessThanOrEqual(10_000);
    expect(l1.size).toBe(10);
    expect(l1.get('k99')).toBeDefined();
    expect(l1.get('k0')).toBeUndefined();
  });

  it('refuses an entry larger than the whole bound instead of emptying itself', () => {
    const l1 = new L1Store(1_000, 10_000);
    l1.set('small', entry(100), Date.now());
    l1.set('huge', entry(20_000), Date.now());
    expect(l1.get('huge')).toBeUndefined();
    expect(l1.get('small')).toBeDefined();
  });

  it('reports a key as changed after its own drop, not after a drop of another key', () => {
    const l1 = new L1Store(100, 10_000);
    const before = l1.now();
    l1.dropKeys(['other']);
    expect(l1.changedSince('mine', before)).toBe(false);
    l1.dropKeys(['mine']);
    expect(l1.changedSince('mine', before)).toBe(true);
    const later = l1.now();
    expect(l1.changedSince('mine', later)).toBe(false);
    l1.dropPrefix('m');
    expect(l1.changedSince('anything', later)).toBe(true);
  });
});
