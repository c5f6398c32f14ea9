import type { Gauge } from 'prom-client';

/** What `MetricsService.counter` creates or finds. */
export interface CounterDefinition<L extends string> {
  /** Must match `REDKIT_METRIC_NAME`; by convention ends in `_total`. */
  name: string;
  /** One line saying what is counted. */
  help: string;
  /** Label names, few and low-cardinality (never a raw user key). Order does not matter. */
  labelNames?: readonly L[];
}

/** What `MetricsService.histogram` creates or finds. */
export interface HistogramDefinition<L extends string> extends CounterDefinition<L> {
  /**
   * Upper bounds of the buckets, ascending. Default: prom-client's (5 ms to 10 s); Redis command
   * latencies want `REDIS_LATENCY_BUCKETS_SECONDS`.
   */
  buckets?: readonly number[];
}

/** What `MetricsService.gauge` creates or finds. */
export interface GaugeDefinition<L extends string> extends CounterDefinition<L> {
  /**
   * Called on every scrape to set the gauge's value (`this.set(...)`), for values that are cheaper
   * to read when asked than to track, such as a cache's size. When the gauge exists already, the
   * first definition's `collect` stays in place.
   */
  collect?: (this: Gauge<L>) => void | Promise<void>;
}
