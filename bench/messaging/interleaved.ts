// Interleaved slices for comparisons too close for one row after another on a shared 2-core machine
// (what tracing off costs against the code without hooks: a few percent at most). The subjects live
// side by side; each round runs every subject for one short slice, in an order that rotates by one
// every round, so load from elsewhere and the process's own drift hit them alike. Each slice is a
// closed loop of `inFlight` callers, like the suite's rows, after a full GC; it records ops, latency
// and the process's CPU time (process.cpuUsage(), user + system, every thread) from the first call
// to the last settled one. Per-round ratios between two subjects, and their median, are what a
// comparison quotes: one slow round moves the median little.
import { LatencyHistogram } from '../lib/histogram.js';
import type { Operation } from '../lib/measure.js';

export interface SlicedSubject {
  name: string;
  op: Operation;
}

export interface SliceOptions {
  rounds: number;
  sliceSeconds: number;
  /** Unrecorded run of each subject, in turn, before the first round. */
  warmupSeconds: number;
  inFlight: number;
}

/** One subject's slices. */
export interface Sliced {
  name: string;
  ops: number;
  errors: number;
  firstError?: unknown;
  seconds: number;
  cpuMicros: number;
  histogram: LatencyHistogram;
  /** Per round, in round order: ops/s and CPU µs per op of that round's slice. */
  rounds: { opsPerSec: number; cpuUsPerOp: number }[];
}

interface SliceResult {
  ops: number;
  errors: number;
  firstError?: unknown;
  ns: bigint;
  cpuMicros: number;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A closed loop of `inFlight` callers for `seconds`; operations started before the end are finished and counted. */
async function slice(
  op: Operation,
  next: () => number,
  seconds: number,
  inFlight: number,
  histogram?: LatencyHistogram,
): Promise<SliceResult> {
  const result: SliceResult = { ops: 0, errors: 0, ns: 0n, cpuMicros: 0 };
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  const caller = async () => {
    let now = process.hrtime.bigint();
    while (now < deadline) {
      const begin = now;
      try {
        await op(next());
        now = process.hrtime.bigint();
        histogram?.record(Number(now - begin));
        result.ops += 1;
      } catch (error) {
        now = process.hrtime.bigint();
        if (result.errors === 0) result.firstError = error;
        result.errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, caller));
  result.ns = process.hrtime.bigint() - started;
  const used = process.cpuUsage(cpu);
  result.cpuMicros = used.user + used.system;
  return result;
}

export async function interleave(
  subjects: readonly SlicedSubject[],
  options: SliceOptions,
  progress: (message: string) => void,
): Promise<Sliced[]> {
  const sliced: Sliced[] = subjects.map((subject) => ({
    name: subject.name,
    ops: 0,
    errors: 0,
    seconds: 0,
    cpuMicros: 0,
    histogram: new LatencyHistogram(),
    rounds: [],
  }));
  // One sequence per subject, across warm-up and rounds, so every operation has its own number.
  const sequences = subjects.map(() => 0);
  const nextOf = (index: number) => () => {
    const seq = sequences[index]!;
    sequences[index] = seq + 1;
    return seq;
  };
  if (options.warmupSeconds > 0) {
    for (const [index, subject] of subjects.entries())
      await slice(subject.op, nextOf(index), options.warmupSeconds, options.inFlight);
  }
  for (let round = 0; round < options.rounds; round += 1) {
    for (let turn = 0; turn < subjects.length; turn += 1) {
      const index = (turn + round) % subjects.length;
      const subject = subjects[index]!;
      const totals = sliced[index]!;
      collectGarbage();
      const result = await slice(
        subject.op,
        nextOf(index),
        options.sliceSeconds,
        options.inFlight,
        totals.histogram,
      );
      const seconds = Number(result.ns) / 1e9;
      totals.ops += result.ops;
      totals.seconds += seconds;
      totals.cpuMicros += result.cpuMicros;
      if (result.errors > 0 && totals.errors === 0) totals.firstError = result.firstError;
      totals.errors += result.errors;
      totals.rounds.push({
        opsPerSec: result.ops / seconds,
        cpuUsPerOp: result.ops === 0 ? Number.NaN : result.cpuMicros / result.ops,
      });
    }
    if ((round + 1) % Math.max(1, Math.floor(options.rounds / 4)) === 0)
      progress(`  round ${round + 1}/${options.rounds} done`);
  }
  return sliced;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * A distribution-free 95 % confidence interval of the median of `values` (the order statistics the
 * binomial distribution gives: the true median lies between them in at least 95 % of samples, whatever
 * the distribution). Needs 6 values or more; with fewer it spans them all.
 */
export function medianInterval(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  // The largest k with P(Binomial(n, 1/2) < k) <= 2.5 %: the interval is the k-th to the (n-k+1)-th value.
  let k = 0;
  let below = 0;
  let term = 0.5 ** n;
  for (let i = 0; i < n; i += 1) {
    if (below + term > 0.025) break;
    below += term;
    term = (term * (n - i)) / (i + 1);
    k = i + 1;
  }
  const low = Math.max(0, k - 1);
  return [sorted[low]!, sorted[n - 1 - low]!];
}

/** Per-round ratios `pick(a) / pick(b)` of two subjects measured in the same rounds. */
export function roundRatios(
  a: Sliced,
  b: Sliced,
  pick: (round: { opsPerSec: number; cpuUsPerOp: number }) => number,
): number[] {
  return a.rounds.map((round, index) => pick(round) / pick(b.rounds[index]!));
}
