import { describe, expect, it } from '@jest/globals';

import { RecentWrites } from './recent-writes.js';

describe('RecentWrites', () => {
  it('covers a key for windowMs after it was noted, and no other key', () => {
    const recent = new RecentWrites(100);
    recent.noteKey('a', 1_000);
    expect(recent.covers('a', 1_099)).toBe(true);
    expect(recent.covers('a', 1_100)).toBe(false);
    expect(recent.covers('b', 1_050)).toBe(false);
  });

  it('restarts the window of a key noted again', () => {
    const recent = new RecentWrites(100);
    recent.noteKey('a', 1_000);
    recent.noteKey('a', 1_080);
    expect(recent.covers('a', 1_150)).toBe(true);
  });

  it('forgets expired keys as new ones are noted, so it holds only the window', () => {
    const recent = new RecentWrites(100);
    for (let at = 0; at < 1_000; at += 10) recent.noteKey(`key-${at}`, at);
    expect(recent.size).toBe(10);
  });

  it('covers every key of a noted prefix, and every key after noteEverything', () => {
    const recent = new RecentWrites(100);
    recent.notePrefix('p:cache:books:', 1_000);
    expect(recent.covers('p:cache:books:1', 1_050)).toBe(true);
    expect(recent.covers('p:cache:users:1', 1_050)).toBe(false);
    expect(recent.covers('p:cache:books:1', 1_100)).toBe(false);
    recent.noteEverything(2_000);
    expect(recent.covers('anything', 2_099)).toBe(true);
    expect(recent.covers('anything', 2_100)).toBe(false);
  });
});
