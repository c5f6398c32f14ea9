import { describe, expect, it } from '@jest/globals';

import { histogramQuantile } from './metric-readings.js';

describe('histogramQuantile', () => {
  it('interpolates inside the bucket the rank falls in', () => {
    const buckets: Array<[number, number]> = [
      [0.01, 0],
      [0.1, 10],
      [1, 20],
      [Number.POSITIVE_INFINITY, 20],
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.055);
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.91);
  });

  it('answers the largest finite bound past it, and null without observations', () => {
    expect(
      histogramQuantile(0.99, [
        [1, 1],
        [Number.POSITIVE_INFINITY, 10],
      ]),
    ).toBe(1);
    expect(
      histogramQuantile(0.5, [
        [1, 0],
        [Number.POSITIVE_INFINITY, 0],
      ]),
    ).toBeNull();
  });
});
