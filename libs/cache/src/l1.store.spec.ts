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

  it("keeps an entry's JSON text once made, counted against the byte bound, evicting older entries for it", () => {
    const l1 = new L1Store(1_000, 2_000);
    const value = { text: 'y'.repeat(900) };
    l1.set('old', entry(1_000), Date.now());
    l1.set('json', { ...entry(900), value }, Date.now());
    const held = l1.get('json')!;

    const json = l1.jsonOf(held);
    expect(json).toBe(JSON.stringify(value));
    expect(l1.jsonOf(l1.get('json')!)).toBe(json);
    expect(l1.bytes).toBe(900 + (json as string).length);
    expect(l1.get('old')).toBeUndefined();
    l1.delete('json');
    expect(l1.bytes).toBe(0);
  });

  it('keeps entries as a fallback but lets none answer alone while hits are suspended, until dropAll', () => {
    const l1 = new L1Store(1_000, 10_000);
    const now = Date.now();
    l1.set('before', entry(10), now);
    l1.suspendHits();
    l1.set('during', entry(10), now);
    for (const key of ['before', 'during']) {
      expect(l1.get(key, now)?.localUntil).toBe(0);
      expect(l1.get(key, now)?.freshUntil).toBeGreaterThan(now);
    }
    l1.dropAll();
    expect(l1.size).toBe(0);
    l1.set('after', entry(10), now);
    expect(l1.get('after', now)?.localUntil).toBeGreaterThan(now);
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

describe('L1Store recency and its index by user key', () => {
  const at = 1_000_000;
  const until = (staleUntil: number) => ({
    value: 'x',
    freshUntil: staleUntil,
    staleUntil,
    size: 10,
    localUntil: staleUntil,
  });

  it('evicts the least recently used entry, a read counting as a use', () => {
    const l1 = new L1Store(3, 10_000);
    for (const key of ['a', 'b', 'c']) l1.set(key, until(at + 1_000), at);
    expect(l1.get('a', at)).toBeDefined();
    l1.set('d', until(at + 1_000), at);
    expect(l1.size).toBe(3);
    expect(l1.get('b', at)).toBeUndefined();
    expect(['a', 'c', 'd'].map((key) => l1.get(key, at) !== undefined)).toEqual([true, true, true]);
  });

  it('finds an entry by its user key, and forgets it there whenever L1 lets the entry go', () => {
    const l1 = new L1Store(2, 10_000);
    const index = l1.createIndex();
    l1.set('p:one', until(at + 1_000), at, index, 'one');
    l1.set('p:two', until(at + 1_000), at, index, 'two');
    expect(l1.read(index, 'one', at)?.value).toBe('x');
    l1.set('p:three', until(at + 1_000), at, index, 'three'); // evicts two, the least recently used
    expect(l1.read(index, 'two', at)).toBeUndefined();
    l1.dropKeys(['p:one']);
    expect(l1.read(index, 'one', at)).toBeUndefined();
    l1.delete('p:three');
    expect(l1.read(index, 'three', at)).toBeUndefined();
    expect(l1.size).toBe(0);
    l1.set('p:four', until(at + 1_000), at, index, 'four');
    l1.dropPrefix('p:');
    expect(l1.read(index, 'four', at)).toBeUndefined();
    l1.set('p:five', until(at + 1_000), at, index, 'five');
    l1.dropAll();
    expect(l1.read(index, 'five', at)).toBeUndefined();
    expect([l1.size, l1.bytes]).toEqual([0, 0]);
  });

  it('replaces an entry written again under the same key, in place of one and the same bytes', () => {
    const l1 = new L1Store(10, 10_000);
    const index = l1.createIndex();
    l1.set('p:k', { ...until(at + 1_000), value: 'old' }, at, index, 'k');
    l1.set('p:k', { ...until(at + 1_000), value: 'new' }, at, index, 'k');
    expect(l1.read(index, 'k', at)?.value).toBe('new');
    expect([l1.size, l1.bytes]).toEqual([1, 10]);
  });

  it('drops an entry read after its grace has ended, and never stores one already past it', () => {
    const l1 = new L1Store(10, 10_000);
    const index = l1.createIndex();
    l1.set('p:k', until(at + 1_000), at, index, 'k');
    expect(l1.read(index, 'k', at + 999)).toBeDefined();
    expect(l1.read(index, 'k', at + 1_000)).toBeUndefined();
    expect(l1.size).toBe(0);
    l1.set('p:late', until(at), at, index, 'late');
    expect(l1.read(index, 'late', at - 1)).toBeUndefined();
  });

  it('keeps its bounds through many writes, evictions and drops in any order', () => {
    const l1 = new L1Store(50, 2_000);
    const index = l1.createIndex();
    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed % below;
    };
    for (let step = 0; step < 2_000; step += 1) {
      const key = `k${random(200)}`;
      const operation = random(10);
      if (operation < 6) l1.set(`p:${key}`, { ...until(at + 1_000), size: 1 + random(100) }, at, index, key);
      else if (operation < 8) l1.read(index, key, at);
      else l1.dropKeys([`p:${key}`]);
      expect(l1.size).toBeLessThanOrEqual(50);
      expect(l1.bytes).toBeLessThanOrEqual(2_000);
    }
    // Whatever the index still finds is exactly what L1 holds.
    let found = 0;
    for (let key = 0; key < 200; key += 1) {
      const viaIndex = l1.read(index, `k${key}`, at);
      expect(viaIndex).toBe(l1.get(`p:k${key}`, at));
      if (viaIndex !== undefined) found += 1;
    }
    expect(found).toBe(l1.size);
  });
});
