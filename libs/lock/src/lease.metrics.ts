import type { DeferredCounterChild, DeferredHistogramChild, MetricsService } from '@redkit/metrics';

import { NOOP_OUTCOMES, outcomeChildren, type AcquireOutcome } from './lock.metrics.js';

/** Which primitive's metrics: `redkit_<primitive>_*`. */
export type LeasePrimitive = 'semaphore' | 'rwlock';

/**
 * redkit_semaphore_* and redkit_rwlock_* metrics, labelled by outcome only (never by name: names
 * are unbounded).
 */
export interface LeaseMetrics {
  readonly acquire: Record<AcquireOutcome, DeferredCounterChild>;
  readonly waitSeconds: DeferredHistogramChild;
  readonly lost: DeferredCounterChild;
}

const WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NOOP = { inc() {}, observe() {} };

/** The `outcome` label of a wait that did not end in a grant. */
export function outcomeOf(reason: 'timeout' | 'retries' | 'aborted' | 'unavailable'): AcquireOutcome {
  return reason === 'aborted' ? 'aborted' : reason === 'unavailable' ? 'error' : 'not_acquired';
}

const WHAT: Record<LeasePrimitive, string> = {
  semaphore: 'semaphore permits',
  rwlock: 'read-write lock leases',
};

/** The metrics of one primitive, or no-ops when the app has no `MetricsService`. */
export function createLeaseMetrics(
  metrics: MetricsService | undefined,
  primitive: LeasePrimitive,
): LeaseMetrics {
  if (metrics === undefined) {
    return {
      acquire: NOOP_OUTCOMES,
      waitSeconds: NOOP,
      lost: NOOP,
    };
  }
  const acquire = metrics.deferredCounter({
    name: `redkit_${primitive}_acquire_total`,
    help: `Acquisitions of ${WHAT[primitive]} by outcome (acquired, not_acquired, aborted, error).`,
    labelNames: ['outcome'],
  });
  return {
    acquire: outcomeChildren(acquire),
    waitSeconds: metrics
      .deferredHistogram({
        name: `redkit_${primitive}_wait_seconds`,
        help: `Time from asking for ${WHAT[primitive]} to holding them (or giving up).`,
        buckets: WAIT_BUCKETS,
      })
      .labels({}),
    lost: metrics
      .deferredCounter({
        name: `redkit_${primitive}_lost_total`,
        help: `Held ${WHAT[primitive]} lost before release (the lease ran out or an extension found it gone).`,
      })
      .labels({}),
  };
}
