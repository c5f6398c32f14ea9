import type { DeferredCounterChild, DeferredHistogramChild, MetricsService } from '@redkit/metrics';

import type { AcquireOutcome } from './lock.metrics.js';

/** redkit_semaphore_* metrics, labelled by outcome only (never by semaphore name: unbounded). */
export interface SemaphoreMetrics {
  readonly acquire: Record<AcquireOutcome, DeferredCounterChild>;
  readonly waitSeconds: DeferredHistogramChild;
  readonly lost: DeferredCounterChild;
}

const WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NOOP = { inc() {}, observe() {} };

/** The metrics, or no-ops when the app has no `MetricsService`. */
export function createSemaphoreMetrics(metrics: MetricsService | undefined): SemaphoreMetrics {
  if (metrics === undefined) {
    return {
      acquire: { acquired: NOOP, not_acquired: NOOP, aborted: NOOP, error: NOOP },
      waitSeconds: NOOP,
      lost: NOOP,
    };
  }
  const acquire = metrics.deferredCounter({
    name: 'redkit_semaphore_acquire_total',
    help: 'Semaphore acquisitions by outcome (acquired, not_acquired, aborted, error).',
    labelNames: ['outcome'],
  });
  return {
    acquire: {
      acquired: acquire.labels({ outcome: 'acquired' }),
      not_acquired: acquire.labels({ outcome: 'not_acquired' }),
      aborted: acquire.labels({ outcome: 'aborted' }),
      error: acquire.labels({ outcome: 'error' }),
    },
    waitSeconds: metrics
      .deferredHistogram({
        name: 'redkit_semaphore_wait_seconds',
        help: 'Time from asking for semaphore permits to holding them (or giving up).',
        buckets: WAIT_BUCKETS,
      })
      .labels({}),
    lost: metrics
      .deferredCounter({
        name: 'redkit_semaphore_lost_total',
        help: 'Held permits lost before release (their lease ran out or an extension found them gone).',
      })
      .labels({}),
  };
}
