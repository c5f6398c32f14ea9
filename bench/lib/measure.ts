// The one measurement loop every benchmark row uses: a closed loop of `inFlight` workers, each
// awaiting one operation at a time, for a fixed duration after a warm-up.
//
// 1. Warm-up: the workers run for `warmupSeconds`, unrecorded, so the JIT, connection pools and
//    caches settle; then every worker finishes its operation (nothing straddles the boundary).
// 2. `onMeasureStart` runs (reset counters, snapshot Redis stats).
// 3. Measured window: the workers run for `seconds`; each operation's latency, from just before the
//    call to just after its promise settles (process.hrtime.bigint), goes into a LatencyHistogram.
//    Operations started before the deadline are finished and counted; ops/s divides by the time
//    until the last one settled.
//
// Latency therefore includes the time an operation waits behind the others on the event loop, as a
// caller in a busy service would see it. It is a closed loop (a new operation starts only when one
// ends), so it measures capacity, not latency under a fixed arrival rate.
import { LatencyHistogram } from './histogram.js';

/** One operation. `seq` counts up from 0 across warm-up and measurement, unique per call. */
export type Operation = (seq: number) => Promise<unknown>;

export interface MeasureOptions {
  /** Operations in flight at once (default 64). */
  inFlight?: number;
  /** Measured duration (default: BENCH_SECONDS, else 3). */
  seconds?: number;
  /** Unrecorded warm-up before it (default: BENCH_WARMUP_SECONDS, else 1). */
  warmupSeconds?: number;
  /** Runs between the warm-up and the measured window, with no operation in flight. */
  onMeasureStart?: () => void | Promise<void>;
}

export interface Measurement {
  /** Operations that completed in the measured window (failed ones excluded). */
  ops: number;
  /** Operations that threw in the measured window. */
  errors: number;
  /** The first error seen (warm-up included), for the report. */
  firstError?: unknown;
  seconds: number;
  opsPerSec: number;
  p50us: number;
  p99us: number;
  maxUs: number;
}

export const DEFAULT_IN_FLIGHT = 64;

/** BENCH_SECONDS, or 3. */
export function defaultSeconds(): number {
  return positiveNumberFromEnv('BENCH_SECONDS', 3);
}

/** BENCH_WARMUP_SECONDS, or 1. */
export function defaultWarmupSeconds(): number {
  return positiveNumberFromEnv('BENCH_WARMUP_SECONDS', 1, true);
}

export async function measure(op: Operation, options: MeasureOptions = {}): Promise<Measurement> {
  const inFlight = options.inFlight ?? DEFAULT_IN_FLIGHT;
  const seconds = options.seconds ?? defaultSeconds();
  const warmupSeconds = options.warmupSeconds ?? defaultWarmupSeconds();
  if (!Number.isInteger(inFlight) || inFlight < 1)
    throw new Error(`measure: inFlight must be >= 1, got ${inFlight}`);

  let seq = 0;
  let firstError: unknown;
  let failed = false;

  /** Runs the workers until `durationNs` has passed; records into `histogram` when given. */
  async function run(
    durationNs: bigint,
    histogram?: LatencyHistogram,
  ): Promise<{ errors: number; ns: bigint }> {
    const started = process.hrtime.bigint();
    const deadline = started + durationNs;
    let errors = 0;
    const worker = async () => {
      let now = process.hrtime.bigint();
      while (now < deadline) {
        const begin = now;
        try {
          await op(seq++);
          now = process.hrtime.bigint();
          histogram?.record(Number(now - begin));
        } catch (error) {
          now = process.hrtime.bigint();
          errors += 1;
          if (!failed) {
            failed = true;
            firstError = error;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return { errors, ns: process.hrtime.bigint() - started };
  }

  if (warmupSeconds > 0) await run(secondsToNs(warmupSeconds));
  await options.onMeasureStart?.();
  const histogram = new LatencyHistogram();
  const { errors, ns } = await run(secondsToNs(seconds), histogram);

  const elapsed = Number(ns) / 1e9;
  return {
    ops: histogram.count,
    errors,
    firstError,
    seconds: elapsed,
    opsPerSec: Math.round(histogram.count / elapsed),
    p50us: toMicros(histogram.percentile(50)),
    p99us: toMicros(histogram.percentile(99)),
    maxUs: toMicros(histogram.max),
  };
}

function secondsToNs(seconds: number): bigint {
  return BigInt(Math.round(seconds * 1e9));
}

/** Nanoseconds to microseconds with one decimal. */
function toMicros(nanoseconds: number): number {
  return Math.round(nanoseconds / 100) / 10;
}

function positiveNumberFromEnv(name: string, fallback: number, zeroAllowed = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw new Error(
      `${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds, got "${raw}"`,
    );
  }
  return value;
}
