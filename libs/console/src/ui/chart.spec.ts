import { describe, expect, it } from '@jest/globals';

import { niceTicks, SampleHistory } from './chart.js';

describe('niceTicks', () => {
  it('reaches the maximum in round steps from zero', () => {
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(100)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(0.3)).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it('keeps whole numbers for counts and gives an empty axis a unit', () => {
    expect(niceTicks(1, 4, true)).toEqual([0, 1]);
    expect(niceTicks(3, 4, true)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});

describe('SampleHistory', () => {
  it('pads a series seen late with nulls and forgets the oldest samples past its bound', () => {
    const history = new SampleHistory(3);
    history.push(1, { a: 1 });
    history.push(2, { a: 2, b: 20 });
    history.push(3, { b: 30 });
    history.push(4, { a: 4, b: 40 });
    expect(history.at).toEqual([2, 3, 4]);
    expect(history.series()).toEqual([
      { label: 'a', values: [2, null, 4] },
      { label: 'b', values: [20, 30, 40] },
    ]);
  });
});
