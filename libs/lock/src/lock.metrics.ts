import type { DeferredCounterChild, DeferredHistogramChild, MetricsService } from '@redkit/metrics';

import type { LockDurableOperation } from './lock.errors.js';

/** How an acquisition ended, the `outcome` label of `redkit_lock_acquire_total`. */
export type AcquireOutcome = 'acquired' | 'not_acquired' | 'aborted' | 'error';

/** redkit_lock_* metrics, bound to their label sets once so the hot path is an increment. */
export interface LockMetrics {
  readonly acquire: Record<AcquireOutcome, DeferredCounterChild>;
  readonly waitSeconds: DeferredHistogramChild;
  readonly holdSeconds: DeferredHistogramChild;
  readonly lost: DeferredCounterChild;
}

const WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HOLD_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

const NOOP = { inc() {}, observe() {} };

/** No-op children of every outcome, for an app without `MetricsService`. */
export const NOOP_OUTCOMES: Record<AcquireOutcome, DeferredCounterChild> = {
  acquired: NOOP,
  not_acquired: NOOP,
  aborted: NOOP,
  error: NOOP,
};

/** The children of an `outcome`-labelled acquisition counter, bound once. */
export function outcomeChildren(counter: {
  labels(labels: { outcome: string }): DeferredCounterChild;
}): Record<AcquireOutcome, DeferredCounterChild> {
  return {
    acquired: counter.labels({ outcome: 'acquired' }),
    not_acquired: counter.labels({ outcome: 'not_acquired' }),
    aborted: counter.labels({ outcome: 'aborted' }),
    error: counter.labels({ outcome: 'error' }),
  };
}

/** What a durable write's WAIT said, the `outcome` label of `redkit_lock_durability_total`. */
export type DurabilityOutcome = 'acknowledged' | 'unacknowledged';

/** Children of `redkit_lock_durability_total`, by operation, then outcome. */
export type DurabilityMetrics = Record<LockDurableOperation, Record<DurabilityOutcome, DeferredCounterChild>>;

const NOOP_DURABILITY: DurabilityMetrics = {
  acquire: { acknowledged: NOOP, unacknowledged: NOOP },
  extend: { acknowledged: NOOP, unacknowledged: NOOP },
  write: { acknowledged: NOOP, unacknowledged: NOOP },
};

/**
 * `redkit_lock_durability_total{operation,outcome}`: the writes of `durability` mode (lock and
 * semaphore grants, extensions and renewals, fenced writes) by whether enough replicas acknowledged
 * them in time. Shared by every primitive of the lib; no-ops without `MetricsService`.
 */
export function createDurabilityMetrics(metrics: MetricsService | undefined): DurabilityMetrics {
  if (metrics === undefined) return NOOP_DURABILITY;
  const counter = metrics.deferredCounter({
    name: 'redkit_lock_durability_total',
    help: 'Durable lock writes (durability option) by operation (acquire, extend, write) and whether enough replicas acknowledged them in time (acknowledged, unacknowledged).',
    labelNames: ['operation', 'outcome'],
  });
  const children = (operation: LockDurableOperation) => ({
    acknowledged: counter.labels({ operation, outcome: 'acknowledged' }),
    unacknowledged: counter.labels({ operation, outcome: 'unacknowledged' }),
  });
  return { acquire: children('acquire'), extend: children('extend'), write: children('write') };
}

/** The metrics, or no-ops when the app has no `MetricsService`. */
export function createLockMetrics(metrics: MetricsService | undefined): LockMetrics {
  if (metrics === undefined) {
    return {
      acquire: NOOP_OUTCOMES,
      waitSeconds: NOOP,
      holdSeconds: NOOP,
      lost: NOOP,
    };
  }
  const acquire = metrics.deferredCounter({
    name: 'redkit_lock_acquire_total',
    help: 'Lock acquisitions by outcome (acquired, not_acquired, aborted, error).',
    labelNames: ['outcome'],
  });
  const lost = metrics.deferredCounter({
    name: 'redkit_lock_lost_total',
    help: 'Held locks lost before release (an extension failed or came too late).',
  });
  return {
    acquire: outcomeChildren(acquire),
    waitSeconds: metrics
      .deferredHistogram({
        name: 'redkit_lock_wait_seconds',
        help: 'Time from asking for a lock to holding it (or giving up).',
        buckets: WAIT_BUCKETS,
      })
      .labels({}),
    holdSeconds: metrics
      .deferredHistogram({
        name: 'redkit_lock_hold_seconds',
        help: 'Time a lock was held, from acquisition to release.',
        buckets: HOLD_BUCKETS,
      })
      .labels({}),
    lost: lost.labels({}),
  };
}
