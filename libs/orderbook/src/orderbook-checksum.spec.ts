import { describe, expect, it } from '@jest/globals';
import { crc32 as zlibCrc32 } from 'node:zlib';

import { bookChecksum, bookChecksumOfRanges, checksumText, crc32, crc32Bytes } from './orderbook-checksum.js';

describe('crc32', () => {
  it('matches the IEEE check value and known vectors', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
    expect(crc32('The quick brown fox jumps over the lazy dog')).toBe(0x414fa339);
  });

  it('encodes non-ASCII text as UTF-8', () => {
    expect(crc32('prix:€')).toBe(crc32Bytes(Buffer.from('prix:€', 'utf8')));
  });

  it('agrees with zlib where this Node has zlib.crc32', () => {
    if (typeof zlibCrc32 !== 'function') return;
    for (const text of ['100.5:2:101:3', 'a', '64250.5:0.125']) expect(crc32(text)).toBe(zlibCrc32(text));
  });
});

describe('checksumText', () => {
  it('interleaves bids and asks best first, then the longer side alone', () => {
    expect(checksumText(['100.5:2', '100:1', '99:4'], ['101:3'])).toBe('100.5:2:101:3:100:1:99:4');
    expect(checksumText([], ['101:3', '102:1'])).toBe('101:3:102:1');
    expect(checksumText([], [])).toBe('');
  });

  it('is the CRC-32 of that text', () => {
    expect(bookChecksum(['1:1'], ['2:2'])).toBe(crc32('1:1:2:2'));
  });
});

describe('bookChecksumOfRanges', () => {
  /** The bids and asks as one "bids|asks" text with the offsets of each level. */
  function ranged(bids: string[], asks: string[]) {
    const text = `${bids.join(',')}|${asks.join(',')}`;
    const ranges = (levels: string[], from: number) => {
      const out: number[] = [];
      let at = from;
      for (const level of levels) {
        out.push(at, at + level.length);
        at += level.length + 1;
      }
      return out;
    };
    return { text, bids: ranges(bids, 0), asks: ranges(asks, bids.join(',').length + 1) };
  }

  it.each([
    [['100.5:2', '100:1', '99:4'], ['101:3']],
    [['1:1'], ['2:2', '3:3', '4:4']],
    [[], ['2:2', '3:3']],
    [['1:1'], []],
    [[], []],
    [['1:€'], ['2:2']],
  ])('equals bookChecksum for bids %j and asks %j', (bids, asks) => {
    const { text, bids: bidRanges, asks: askRanges } = ranged(bids, asks);
    expect(bookChecksumOfRanges(text, bidRanges, askRanges)).toBe(bookChecksum(bids, asks));
  });
});
