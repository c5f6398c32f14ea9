import { describe, expect, it } from '@jest/globals';

import { readLimitHistory } from './limits.js';

describe('readLimitHistory', () => {
  it('reads one allowed and one limited series per limit, beside the shared time axis', () => {
    const read = readLimitHistory({
      at: [1, 2],
      login: { allowed: [3, 0], limited: [0, 2], error: [0, 0] },
      search: [5, 6],
    });
    expect(read.at).toEqual([1, 2]);
    expect(read.allowed).toEqual([{ label: 'login', values: [3, 0] }]);
    expect(read.limited).toEqual([
      { label: 'login', values: [0, 2] },
      { label: 'search', values: [5, 6] },
    ]);
  });

  it('reads nothing from a missing history', () => {
    expect(readLimitHistory(undefined)).toEqual({ at: [], allowed: [], limited: [] });
  });
});
