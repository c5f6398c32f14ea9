import {
  MetricsService,
  REDIS_LATENCY_BUCKETS_SECONDS,
  type DeferredCounter,
  type DeferredCounterChild,
  type DeferredHistogramChild,
} from '@redkit/metrics';

/** What a write did: `ok`, or why it was refused or failed. */
export type OrderBookWriteOutcome =
  'ok' | 'invalid' | 'unknown_symbol' | 'not_found' | 'stale' | 'gap' | 'crossed' | 'unreplicated' | 'error';

export type OrderBookWriteOp = 'snapshot' | 'delta' | 'delete';

/** redkit_orderbook_* metrics; see the README for what each counts. */
export class OrderBookMetrics {
  private readonly writes: DeferredCounter<'op' | 'outcome'>;
  private readonly writeChildren = new Map<string, DeferredCounterChild>();
  private readonly durability: DeferredCounter<'op' | 'outcome'>;
  private readonly durabilityChildren = new Map<string, DeferredCounterChild>();
  readonly snapshotReadSeconds: DeferredHistogramChild;
  readonly topReadSeconds: DeferredHistogramChild;
  /** Levels per side of the book this instance wrote last; read by the gauge at scrape time. */
  private lastBidLevels = 0;
  private lastAskLevels = 0;

  constructor(metrics: MetricsService) {
    this.writes = metrics.deferredCounter({
      name: 'redkit_orderbook_writes_total',
      help: 'Order-book writes, by operation (snapshot, delta, delete) and outcome.',
      labelNames: ['op', 'outcome'],
    });
    this.durability = metrics.deferredCounter({
      name: 'redkit_orderbook_durability_total',
      help: 'Durable order-book writes (durability option) by operation (snapshot, delta, delete) and whether enough replicas acknowledged them in time (acknowledged, unacknowledged).',
      labelNames: ['op', 'outcome'],
    });
    const reads = metrics.deferredHistogram({
      name: 'redkit_orderbook_read_duration_seconds',
      help: 'Order-book reads (one script round trip plus parsing), by operation (snapshot, top).',
      labelNames: ['op'],
      buckets: REDIS_LATENCY_BUCKETS_SECONDS,
    });
    this.snapshotReadSeconds = reads.labels({ op: 'snapshot' });
    this.topReadSeconds = reads.labels({ op: 'top' });
    // Sampled: the sizes of the book written last, not one series per symbol.
    const levels = { bid: () => this.lastBidLevels, ask: () => this.lastAskLevels };
    metrics.gauge({
      name: 'redkit_orderbook_levels',
      help: 'Price levels per side of the order book this instance wrote last (a sample, not per symbol).',
      labelNames: ['side'],
      collect() {
        this.set({ side: 'bid' }, levels.bid());
        this.set({ side: 'ask' }, levels.ask());
      },
    });
  }

  write(op: OrderBookWriteOp, outcome: OrderBookWriteOutcome): void {
    const key = `${op}:${outcome}`;
    let child = this.writeChildren.get(key);
    if (child === undefined) {
      child = this.writes.labels({ op, outcome });
      this.writeChildren.set(key, child);
    }
    child.inc();
  }

  /** A durable write's WAIT outcome. */
  durable(op: OrderBookWriteOp, acknowledged: boolean): void {
    const outcome = acknowledged ? 'acknowledged' : 'unacknowledged';
    const key = `${op}:${outcome}`;
    let child = this.durabilityChildren.get(key);
    if (child === undefined) {
      child = this.durability.labels({ op, outcome });
      this.durabilityChildren.set(key, child);
    }
    child.inc();
  }

  sampleLevels(bids: number, asks: number): void {
    this.lastBidLevels = bids;
    this.lastAskLevels = asks;
  }
}
