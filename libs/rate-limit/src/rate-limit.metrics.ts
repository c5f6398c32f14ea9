import {
  MetricsService,
  REDIS_LATENCY_BUCKETS_SECONDS,
  type DeferredCounter,
  type DeferredCounterChild,
  type DeferredHistogramChild,
} from '@redkit/metrics';

/** The three outcome counters of one limit name, bound once. */
export interface LimitOutcomes {
  allowed: DeferredCounterChild;
  limited: DeferredCounterChild;
  error: DeferredCounterChild;
}

/** The two outcome counters of durable admissions, bound once. */
export interface DurabilityOutcomes {
  acknowledged: DeferredCounterChild;
  unacknowledged: DeferredCounterChild;
}

/**
 * `redkit_ratelimit_requests_total{limit,outcome}` and `redkit_ratelimit_check_duration_seconds`;
 * with `durability`, `redkit_ratelimit_durability_total{outcome}`.
 * Both are deferred: a check costs a few additions, not a label hash per request. The `limit` label
 * is the limit's name, chosen by the developer, never a client identity.
 */
export class RateLimitMetrics {
  readonly checkSeconds: DeferredHistogramChild;
  private readonly requests: DeferredCounter<'limit' | 'outcome'>;
  private readonly byName = new Map<string, LimitOutcomes>();

  constructor(private readonly metrics: MetricsService) {
    this.requests = metrics.deferredCounter({
      name: 'redkit_ratelimit_requests_total',
      help: 'Rate-limit decisions per limit: allowed, limited, or error (Redis could not answer).',
      labelNames: ['limit', 'outcome'],
    });
    this.checkSeconds = metrics
      .deferredHistogram({
        name: 'redkit_ratelimit_check_duration_seconds',
        help: 'Duration of one rate-limit check (one Redis round trip for all its limits).',
        buckets: REDIS_LATENCY_BUCKETS_SECONDS,
      })
      .labels({});
  }

  /**
   * The counters of durable mode, registered only when it is on: admissions whose WAIT saw enough
   * replicas acknowledge them in time, and admissions it did not (decided as without Redis).
   */
  durabilityOutcomes(): DurabilityOutcomes {
    const durability = this.metrics.deferredCounter({
      name: 'redkit_ratelimit_durability_total',
      help: 'Admissions of durable mode (durability option) by whether enough replicas acknowledged them in time (acknowledged), or not, so that they were decided as without Redis (unacknowledged).',
      labelNames: ['outcome'],
    });
    return {
      acknowledged: durability.labels({ outcome: 'acknowledged' }),
      unacknowledged: durability.labels({ outcome: 'unacknowledged' }),
    };
  }

  /** The counters of one limit name; created on first use, then reused. */
  forLimit(limit: string): LimitOutcomes {
    let outcomes = this.byName.get(limit);
    if (outcomes === undefined) {
      outcomes = {
        allowed: this.requests.labels({ limit, outcome: 'allowed' }),
        limited: this.requests.labels({ limit, outcome: 'limited' }),
        error: this.requests.labels({ limit, outcome: 'error' }),
      };
      this.byName.set(limit, outcomes);
    }
    return outcomes;
  }
}
