import { describe, expect, it } from '@jest/globals';

import { streamMatcher } from './console-options.validator.js';
import { isLanePriority, NORMAL_LANE, partitionOfName, STREAM_LANES } from './stream-layout.js';

describe('the stream layout of @redkit/messaging', () => {
  it('lists the lanes highest first, normal third', () => {
    expect(STREAM_LANES).toEqual(['critical', 'high', 'normal', 'low']);
    expect(NORMAL_LANE).toBe(2);
    expect(isLanePriority('low')).toBe(true);
    expect(isLanePriority('urgent')).toBe(false);
  });

  it('reads a partition’s stream and index from its name, and nothing from other names', () => {
    expect(partitionOfName('orders#0')).toEqual({ of: 'orders', index: 0 });
    expect(partitionOfName('a#b#1023')).toEqual({ of: 'a#b', index: 1023 });
    for (const name of ['orders', 'orders#', '#1', 'orders#01', 'orders#1024', 'orders#x', 'orders#-1'])
      expect(partitionOfName(name)).toBeNull();
  });

  it('applies a partitioned stream’s hide and read-only rules to its partitions', () => {
    const matcher = streamMatcher(['ledger', 'secret.*']);
    expect(matcher.matches('ledger#3')).toBe(true);
    expect(matcher.matches('secret.keys#0')).toBe(true);
    expect(matcher.matches('ledgers#3')).toBe(false);
    expect(matcher.matches('ledger#x')).toBe(false);
  });
});
