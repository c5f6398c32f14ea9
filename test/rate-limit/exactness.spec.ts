import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RateLimitRule } from '@redkit/rate-limit';

import { killWorkersAndDeleteKeys, messageFrom, sharedTopologies, workerOutput } from '../harness/index.js';
import { uniquePrefix } from './rate-limit-test-kit.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/exactness.worker.mjs', import.meta.url));
/**
 * The workers run the libs' TypeScript sources (the `redkit-source` export condition, compiled on
 * load by the bench's swc hooks) rather than libs/*\/dist, which another build in the same checkout
 * may be rewriting while they start.
 */
const workerExecArgv = [
  '--conditions=redkit-source',
  '--import',
  fileURLToPath(new URL('../../bench/lib/register.mjs', import.meta.url)),
];

const PROCESSES = 4;
const IN_FLIGHT = 64;
const LIMIT = 25;
const WINDOW_MS = 300;
/** Five windows and a bit. */
const DURATION_MS = 1_600;

interface WorkerReport {
  admissions: number[];
  refused: number;
  failed: number;
}

/** The most admissions any window (t - window, t] holds, t running over every admission. */
function maxInSlidingWindow(sortedUs: readonly number[], windowUs: number): number {
  let max = 0;
  let first = 0;
  for (let last = 0; last < sortedUs.length; last += 1) {
    while ((sortedUs[first] as number) <= (sortedUs[last] as number) - windowUs) first += 1;
    max = Math.max(max, last - first + 1);
  }
  return max;
}

/** The most admissions any fixed window [k × window, (k + 1) × window) of the server clock holds. */
function maxInFixedWindow(sortedUs: readonly number[], windowUs: number): number {
  const counts = new Map<number, number>();
  for (const time of sortedUs) {
    const index = Math.floor(time / windowUs);
    counts.set(index, (counts.get(index) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}

describe.each(sharedTopologies)('exactness under 4 processes x 64 in flight on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('rlexact');
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    const args = [JSON.stringify({ ...redis(), keyPrefix }), String(IN_FLIGHT), String(DURATION_MS)];
    for (let index = 0; index < PROCESSES; index += 1) {
      workers.push(
        fork(worker, args, {
          cwd: root,
          execArgv: workerExecArgv,
          stdio: ['ignore', workerOutput, 'pipe', 'ipc'],
        }),
      );
    }
    await Promise.all(workers.map((child) => messageFrom(child, (message) => message === 'ready')));
  }, 60_000);

  afterAll(() => killWorkersAndDeleteKeys(workers, redis(), keyPrefix));

  /** Every worker floods `key` at once; returns the admissions' server times, sorted. */
  async function flood(rules: RateLimitRule | RateLimitRule[], key: string): Promise<number[]> {
    const reports = workers.map((child) =>
      messageFrom<WorkerReport>(child, (message) => typeof message === 'object'),
    );
    for (const child of workers) child.send({ rules, key });
    const results = await Promise.all(reports);
    expect(results.reduce((sum, report) => sum + report.failed, 0)).toBe(0);
    // The flood really pressed on the limit: most calls were refused.
    expect(results.reduce((sum, report) => sum + report.refused, 0)).toBeGreaterThan(LIMIT * 5);
    return results.flatMap((report) => report.admissions).sort((a, b) => a - b);
  }

  it('sliding log: no window of windowMs ever holds more than the limit', async () => {
    const admissions = await flood({ name: 'exact-log', limit: LIMIT, windowMs: WINDOW_MS }, 'log-key');
    // Several windows' worth of admissions, so the limit was reached again and again.
    expect(admissions.length).toBeGreaterThanOrEqual(LIMIT * 3);
    // Admissions of one batch share its server time, so times repeat; the window count covers that.
    expect(maxInSlidingWindow(admissions, WINDOW_MS * 1_000)).toBe(LIMIT);
  });

  it('sliding log in its sorted-set form (limit above 256 units): no window holds more than the limit', async () => {
    // Each admission weighs 80 units of a 2,000-unit limit: at most LIMIT admissions per window.
    const admissions = await flood(
      { name: 'exact-log-set', limit: LIMIT * 80, windowMs: WINDOW_MS, cost: 80 },
      'log-set-key',
    );
    expect(admissions.length).toBeGreaterThanOrEqual(LIMIT * 3);
    expect(maxInSlidingWindow(admissions, WINDOW_MS * 1_000)).toBe(LIMIT);
  });

  it('combined check of two limits: the sliding log still holds exactly', async () => {
    const admissions = await flood(
      [
        { name: 'combined-log', limit: LIMIT, windowMs: WINDOW_MS },
        { name: 'combined-counter', limit: 1_000, windowMs: 1_000, algorithm: 'sliding-counter' },
      ],
      'combined-key',
    );
    expect(admissions.length).toBeGreaterThanOrEqual(LIMIT * 3);
    expect(maxInSlidingWindow(admissions, WINDOW_MS * 1_000)).toBe(LIMIT);
  });

  it('sliding counter: each fixed window holds at most the limit, any sliding window under twice it', async () => {
    const admissions = await flood(
      { name: 'exact-counter', limit: LIMIT, windowMs: WINDOW_MS, algorithm: 'sliding-counter' },
      'counter-key',
    );
    expect(admissions.length).toBeGreaterThanOrEqual(LIMIT * 3);
    expect(maxInFixedWindow(admissions, WINDOW_MS * 1_000)).toBeLessThanOrEqual(LIMIT);
    expect(maxInSlidingWindow(admissions, WINDOW_MS * 1_000)).toBeLessThan(2 * LIMIT);
  });
});
