import {
  MetricsService,
  REDIS_LATENCY_BUCKETS_SECONDS,
  type DeferredCounter,
  type DeferredCounterChild,
  type DeferredHistogram,
  type DeferredHistogramChild,
} from '@redkit/metrics';
import type { Counter } from 'prom-client';

import type { L1Store } from './l1.store.js';
import type { ReplicaReadOutcome } from './l2-read.router.js';

const REPLICA_READ_OUTCOMES: readonly ReplicaReadOutcome[] = [
  'replica',
  'after_write',
  'unavailable',
  'failed',
  'rechecked',
];

/** The metric children of one namespace, bound to its labels once so a hit costs one increment. */
export interface NamespaceMetrics {
  hitL1: DeferredCounterChild;
  hitL2: DeferredCounterChild;
  miss: DeferredCounterChild;
  staleServed: DeferredCounterChild;
  error(op: CacheOperation): void;
  loaderSeconds: DeferredHistogramChild;
  l2Seconds(op: 'get' | 'set' | 'delete'): DeferredHistogramChild;
  /** Keys (or one namespace prefix) this instance told the others to drop. */
  invalidationsSent: DeferredCounterChild;
  /** Keys (or a namespace prefix) another instance, or Redis's tracking, told this one to drop. */
  invalidationsReceived: DeferredCounterChild;
}

export type CacheOperation =
  'l2_get' | 'l2_set' | 'l2_delete' | 'loader' | 'too_large' | 'invalidate' | 'lease';

/** redkit_cache_* metrics; see the README for what each counts. */
export class CacheMetrics {
  // Counted on every read, so deferred: a labelled prom-client inc would double an L1 hit's cost.
  private readonly hits: DeferredCounter<'cache' | 'level'>;
  private readonly misses: DeferredCounter<'cache'>;
  private readonly stale: DeferredCounter<'cache'>;
  private readonly errors: Counter<'cache' | 'op'>;
  private readonly loader: DeferredHistogram<'cache'>;
  private readonly l2: DeferredHistogram<'cache' | 'op'>;
  private readonly invalidations: DeferredCounter<'cache' | 'direction'>;
  /** The invalidation subscriber listens again after a loss (a restarted node, a moved shard channel): L1 was dropped. */
  readonly resubscriptions: Counter;

  constructor(
    private readonly metrics: MetricsService,
    l1: L1Store,
  ) {
    this.hits = metrics.deferredCounter({
      name: 'redkit_cache_hits_total',
      help: 'Cache reads answered from L1 or L2.',
      labelNames: ['cache', 'level'],
    });
    this.misses = metrics.deferredCounter({
      name: 'redkit_cache_misses_total',
      help: 'Cache reads that found nothing fresh.',
      labelNames: ['cache'],
    });
    this.stale = metrics.deferredCounter({
      name: 'redkit_cache_stale_served_total',
      help: 'Stale values served during grace, or instead of a failing loader or an unreachable Redis.',
      labelNames: ['cache'],
    });
    this.errors = metrics.counter({
      name: 'redkit_cache_errors_total',
      help: 'Failed cache operations, by operation.',
      labelNames: ['cache', 'op'],
    });
    this.loader = metrics.deferredHistogram({
      name: 'redkit_cache_loader_duration_seconds',
      help: 'How long loaders ran.',
      labelNames: ['cache'],
    });
    this.l2 = metrics.deferredHistogram({
      name: 'redkit_cache_l2_duration_seconds',
      help: 'Round trips to Redis (L2), by operation.',
      labelNames: ['cache', 'op'],
      buckets: REDIS_LATENCY_BUCKETS_SECONDS,
    });
    this.invalidations = metrics.deferredCounter({
      name: 'redkit_cache_invalidations_total',
      help: 'Cross-instance L1 invalidations, in keys (a whole namespace counts one), sent or received.',
      labelNames: ['cache', 'direction'],
    });
    this.resubscriptions = metrics.counter({
      name: 'redkit_cache_invalidation_resubscriptions_total',
      help: 'Times the L1 invalidation subscriber subscribed again after losing its connection (a restarted node, a moved shard channel); L1 is dropped each time.',
    });
    metrics.gauge({
      name: 'redkit_cache_l1_entries',
      help: 'Entries held in the in-process L1.',
      collect() {
        this.set(l1.size);
      },
    });
  }

  /**
   * `redkit_cache_replica_reads_total{outcome}`, registered only with `l2Reads: 'replica'`: where each
   * read that could have gone to a replica went (see {@link ReplicaReadOutcome}).
   */
  replicaReads(): Record<ReplicaReadOutcome, DeferredCounterChild> {
    const counter = this.metrics.deferredCounter({
      name: 'redkit_cache_replica_reads_total',
      help: 'L2 reads under l2Reads "replica", by outcome: replica (answered there), after_write (primary: key changed within readYourWritesMs), unavailable (primary: replica not ready), failed (replica read failed, re-sent to the primary), rechecked (replica had nothing fresh, primary asked before loading).',
      labelNames: ['outcome'],
    });
    const children = {} as Record<ReplicaReadOutcome, DeferredCounterChild>;
    for (const outcome of REPLICA_READ_OUTCOMES) children[outcome] = counter.labels({ outcome });
    return children;
  }

  forNamespace(cache: string): NamespaceMetrics {
    const { errors, l2 } = this;
    const l2Children = {
      get: l2.labels({ cache, op: 'get' }),
      set: l2.labels({ cache, op: 'set' }),
      delete: l2.labels({ cache, op: 'delete' }),
    };
    return {
      hitL1: this.hits.labels({ cache, level: 'l1' }),
      hitL2: this.hits.labels({ cache, level: 'l2' }),
      miss: this.misses.labels({ cache }),
      staleServed: this.stale.labels({ cache }),
      error: (op) => errors.inc({ cache, op }),
      loaderSeconds: this.loader.labels({ cache }),
      l2Seconds: (op) => l2Children[op],
      invalidationsSent: this.invalidations.labels({ cache, direction: 'sent' }),
      invalidationsReceived: this.invalidations.labels({ cache, direction: 'received' }),
    };
  }
}
