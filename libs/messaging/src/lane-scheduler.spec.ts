import { describe, expect, it } from '@jest/globals';

import {
  DEFAULT_PRIORITY_WEIGHTS,
  LaneScheduler,
  resolvePriorityWeights,
  type PriorityWeights,
} from './lane-scheduler.js';
import { MessagingOptionsError } from './messaging.errors.js';
import { MESSAGE_PRIORITIES } from './stream-message.js';

/** A small deterministic generator (LCG), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/**
 * Runs `starts` picks with lanes coming and going at random, and checks the bound: in every window
 * of N consecutive starts during which a lane was ready at each start, it got at least its weight.
 */
function checkBound(weights: PriorityWeights, seed: number, starts = 20_000): void {
  const scheduler = new LaneScheduler(weights);
  const next = random(seed);
  const N = scheduler.cycleLength;
  const picks: number[] = [];
  const readyAt: number[] = [];
  let ready = 0b1111;
  for (let start = 0; start < starts; start++) {
    // Each lane flips in or out now and then, one always stays ready.
    for (let lane = 0; lane < 4; lane++) if (next() < 0.05) ready ^= 1 << lane;
    if (ready === 0) ready = 1 << Math.floor(next() * 4);
    const lane = scheduler.next(ready);
    if ((ready & (1 << lane)) === 0) throw new Error(`picked lane ${lane} without entries (seed ${seed})`);
    picks.push(lane);
    readyAt.push(ready);
  }
  MESSAGE_PRIORITIES.forEach((priority, lane) => {
    let readyRun = 0;
    for (let end = 0; end < starts; end++) {
      readyRun = (readyAt[end] as number) & (1 << lane) ? readyRun + 1 : 0;
      if (readyRun < N) continue;
      let got = 0;
      for (let at = end - N + 1; at <= end; at++) if (picks[at] === lane) got += 1;
      if (got < weights[priority]) {
        throw new Error(`${priority} got ${got} of the ${N} starts ending at ${end} (seed ${seed})`);
      }
    }
  });
}

describe('LaneScheduler', () => {
  it('spreads each lane over a cycle of N = sum of the weights slots, evenly', () => {
    const scheduler = new LaneScheduler();
    expect(scheduler.cycleLength).toBe(15);
    const counts = [0, 1, 2, 3].map((lane) => scheduler.cycle.filter((slot) => slot === lane).length);
    expect(counts).toEqual([8, 4, 2, 1]);
    // Smooth: critical never takes more than two slots in a row.
    expect(scheduler.cycle.join('')).not.toMatch(/000/);
  });

  it('gives each lane its weight in every cycle while all lanes have entries', () => {
    const scheduler = new LaneScheduler();
    const picks = Array.from({ length: 15 * 20 }, () => scheduler.next(0b1111));
    for (let start = 0; start + 15 <= picks.length; start++) {
      const window = picks.slice(start, start + 15);
      expect([0, 1, 2, 3].map((lane) => window.filter((pick) => pick === lane).length)).toEqual([8, 4, 2, 1]);
    }
  });

  it('gives low at least 1 of every 15 starts under a critical flood', () => {
    const scheduler = new LaneScheduler();
    const picks = Array.from({ length: 900 }, () => scheduler.next(0b1001));
    for (let start = 0; start + 15 <= picks.length; start++) {
      expect(picks.slice(start, start + 15)).toContain(3);
    }
    // Only two lanes waiting: low gets 1 of every 9 (its slot, and critical's 8).
    expect(picks.filter((pick) => pick === 3)).toHaveLength(100);
  });

  it('holds the bound while lanes come and go, for the default and other weights', () => {
    for (const seed of [1, 2, 3, 4, 5]) checkBound(DEFAULT_PRIORITY_WEIGHTS, seed);
    checkBound({ critical: 50, high: 10, normal: 3, low: 1 }, 7);
    checkBound({ critical: 1, high: 1, normal: 1, low: 1 }, 8);
    checkBound({ critical: 5, high: 5, normal: 2, low: 2 }, 9);
  });

  it('never picks a lane without entries, and says when there is none', () => {
    const scheduler = new LaneScheduler();
    expect(scheduler.next(0)).toBe(-1);
    expect(scheduler.next(0b0100)).toBe(2);
    for (let start = 0; start < 30; start++) expect([1, 3]).toContain(scheduler.next(0b1010));
  });
});

describe('priorityWeights', () => {
  it('defaults to 8 / 4 / 2 / 1 and fills lanes left out from the defaults', () => {
    expect(resolvePriorityWeights(undefined)).toEqual({ critical: 8, high: 4, normal: 2, low: 1 });
    expect(resolvePriorityWeights({ critical: 20 })).toEqual({ critical: 20, high: 4, normal: 2, low: 1 });
  });

  it('names the bad weight', () => {
    expect(() => resolvePriorityWeights({ low: 0 })).toThrow(
      new MessagingOptionsError('priorityWeights.low', 'must be a whole number from 1 to 100, got 0'),
    );
    expect(() => resolvePriorityWeights({ normal: 1.5 }, 'consumers.')).toThrow(
      new MessagingOptionsError(
        'consumers.priorityWeights.normal',
        'must be a whole number from 1 to 100, got 1.5',
      ),
    );
    expect(() => resolvePriorityWeights({ low: 3 })).toThrow(
      new MessagingOptionsError(
        'priorityWeights.low',
        'must not exceed the weight of the lane above it (2), got 3',
      ),
    );
    expect(() => resolvePriorityWeights({ urgent: 3 })).toThrow(/priorityWeights\.urgent/);
    expect(() => resolvePriorityWeights([8, 4, 2, 1])).toThrow(/"priorityWeights" must be an object/);
  });
});
