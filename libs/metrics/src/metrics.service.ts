import { Inject, Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  type Metric,
  Registry,
  type RegistryContentType,
} from 'prom-client';
import type {
  CounterDefinition,
  GaugeDefinition,
  HistogramDefinition,
} from './metric-definition.interface.js';
import {
  DEFAULT_METRICS_MARKER,
  METRICS_MODULE_OPTIONS,
  MISNAMED_DEFAULT_GAUGES,
  REDKIT_METRIC_NAME,
} from './metrics.constants.js';
import { MetricDefinitionError } from './metrics.errors.js';
import type { MetricsModuleOptions } from './metrics-module-options.interface.js';
import { type ResolvedMetricsOptions, validateMetricsModuleOptions } from './metrics-options.validator.js';
import { DeferredHistogramMetric, type DeferredHistogram } from './deferred-histogram.js';

type MetricKind = 'counter' | 'gauge' | 'histogram' | 'deferred histogram';

/** How a metric was defined, kept to answer later get-or-create calls for the same name. */
interface MetricRecord {
  readonly kind: MetricKind;
  /** Sorted label names, so that `['a', 'b']` and `['b', 'a']` are the same definition. */
  readonly labelNames: readonly string[];
  /** Histogram buckets as asked for; `undefined` for prom-client's default (and for other kinds). */
  readonly buckets: readonly number[] | undefined;
  readonly metric: Metric<string>;
  /** How many services currently use the metric; it leaves a shared registry when none does. */
  holders: number;
}

// Kept per registry rather than per service: services sharing a caller's registry must agree on it.
const recordsByRegistry = new WeakMap<Registry<RegistryContentType>, Map<string, MetricRecord>>();

// A service created without options (no MetricsModule) collects no process metrics: those belong to
// the application's registry, not to the fallback registry of every lib used on its own.
const STANDALONE_OPTIONS: ResolvedMetricsOptions = Object.freeze({
  defaultMetrics: false,
  registry: undefined,
  defaultLabels: undefined,
});

/**
 * Owns one prom-client `Registry` and creates redkit's metrics in it, get-or-create style: asking
 * twice for the same name returns the same metric, so several providers may declare it.
 *
 * Each instance has its own registry unless given one, so an application can be created and closed
 * many times in one process (tests do) without "already registered" errors from prom-client's
 * global registry, which redkit never touches.
 *
 * A lib injects it with `@Optional()` and falls back to `new MetricsService()` when the application
 * has no `MetricsModule`: its metrics then exist but are not served anywhere.
 *
 * @example
 * constructor(@Optional() metrics?: MetricsService) {
 *   this.hits = (metrics ?? new MetricsService()).counter({
 *     name: 'redkit_cache_hits_total',
 *     help: 'Cache reads answered from the cache, by level.',
 *     labelNames: ['level'],
 *   });
 * }
 */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  /** The registry the scrape endpoint serves. */
  readonly registry: Registry<RegistryContentType>;

  private readonly ownsRegistry: boolean;
  private readonly records: Map<string, MetricRecord>;
  private readonly held = new Set<string>();

  /**
   * @param options As for `MetricsModule.forRoot`; `defaultMetrics` defaults to `true` when options
   * are given. Without options: a registry of its own and no default metrics.
   * @throws MetricsOptionError naming the option, when an option is invalid.
   */
  constructor(@Optional() @Inject(METRICS_MODULE_OPTIONS) options?: MetricsModuleOptions) {
    const resolved = options === undefined ? STANDALONE_OPTIONS : validateMetricsModuleOptions(options);
    this.ownsRegistry = resolved.registry === undefined;
    this.registry = resolved.registry ?? new Registry();
    let records = recordsByRegistry.get(this.registry);
    if (records === undefined) {
      records = new Map();
      recordsByRegistry.set(this.registry, records);
    }
    this.records = records;
    if (resolved.defaultLabels !== undefined) this.registry.setDefaultLabels(resolved.defaultLabels);
    if (resolved.defaultMetrics && this.registry.getSingleMetric(DEFAULT_METRICS_MARKER) === undefined) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(name);
    }
  }

  /** The `Content-Type` of what `metrics()` returns: the Prometheus text format 0.0.4 by default. */
  get contentType(): RegistryContentType {
    return this.registry.contentType;
  }

  /** Every metric of the registry in its exposition format, as a scrape receives it. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Returns the counter of that name, creating it on first use.
   * @throws MetricDefinitionError when the name breaks `REDKIT_METRIC_NAME`, or the name is taken by
   * a metric of another type or label set.
   */
  counter<L extends string = never>(definition: CounterDefinition<L>): Counter<L> {
    return this.getOrCreate('counter', definition, undefined, (labelNames) => {
      return new Counter<L>({ ...this.baseConfiguration(definition), labelNames, collect: flushDeferred });
    }) as Counter<L>;
  }

  /**
   * The counter of that name for hot paths: `labels({...}).inc()` adds to a plain number, and the
   * sums move into the counter when the registry is collected (every scrape, every `metrics()`).
   * A labelled prom-client `inc` hashes its labels on each call (about half a microsecond); this
   * costs a few nanoseconds. Same name rules and get-or-create semantics as {@link counter}.
   *
   * @example
   * const hits = metrics.deferredCounter({ name: 'redkit_cache_hits_total', help: '…', labelNames: ['level'] });
   * const l1Hits = hits.labels({ level: 'l1' }); // once
   * l1Hits.inc();                                 // per hit
   */
  deferredCounter<L extends string = never>(definition: CounterDefinition<L>): DeferredCounter<L> {
    const counter = this.counter(definition);
    return {
      counter,
      labels(labels: Record<L, string>): DeferredCounterChild {
        const child = new DeferredChild(counter as Counter<string>, { ...labels });
        let children = deferredChildren.get(counter as Counter<string>);
        if (children === undefined) deferredChildren.set(counter as Counter<string>, (children = new Set()));
        children.add(child);
        return child;
      },
    };
  }

  /**
   * Returns the histogram of that name, creating it on first use.
   * @throws MetricDefinitionError when the name breaks `REDKIT_METRIC_NAME`, or the name is taken by
   * a metric of another type, label set or buckets.
   */
  histogram<L extends string = never>(definition: HistogramDefinition<L>): Histogram<L> {
    const { buckets } = definition;
    return this.getOrCreate('histogram', definition, buckets, (labelNames) => {
      return new Histogram<L>({
        ...this.baseConfiguration(definition),
        labelNames,
        ...(buckets === undefined ? {} : { buckets: [...buckets] }),
      });
    }) as Histogram<L>;
  }

  /**
   * The histogram of that name for hot paths: `labels({...}).observe(seconds)` is a bucket scan and
   * three additions; prom-client's labelled `observe` also hashes the labels on every call. It is
   * served like any histogram. A name is either a deferred histogram or a plain one, not both.
   *
   * @example
   * const l2 = metrics.deferredHistogram({ name: 'redkit_cache_l2_duration_seconds', help: '…', labelNames: ['op'], buckets });
   * const reads = l2.labels({ op: 'get' }); // once
   * reads.observe(seconds);                  // per call
   */
  deferredHistogram<L extends string = never>(definition: HistogramDefinition<L>): DeferredHistogram<L> {
    const buckets = definition.buckets ?? DEFAULT_HISTOGRAM_BUCKETS;
    return this.getOrCreate('deferred histogram', definition, definition.buckets, (labelNames) => {
      const metric = new DeferredHistogramMetric<L>(definition.name, definition.help, labelNames, [
        ...buckets,
      ]);
      // prom-client serializes any metric whose get() returns name, help, type and values.
      this.registry.registerMetric(metric as unknown as Metric<string>);
      return metric as unknown as Metric<L>;
    }) as unknown as DeferredHistogram<L>;
  }

  /**
   * Returns the gauge of that name, creating it on first use.
   * @throws MetricDefinitionError when the name breaks `REDKIT_METRIC_NAME`, or the name is taken by
   * a metric of another type or label set.
   */
  gauge<L extends string = never>(definition: GaugeDefinition<L>): Gauge<L> {
    const { collect } = definition;
    return this.getOrCreate('gauge', definition, undefined, (labelNames) => {
      return new Gauge<L>({
        ...this.baseConfiguration(definition),
        labelNames,
        ...(collect === undefined ? {} : { collect }),
      });
    }) as Gauge<L>;
  }

  /**
   * Removes this service's metrics from a registry it was given, once no other service uses them,
   * so that the next application on that registry starts from fresh metrics. A registry the service
   * created itself is left alone: nothing else can reach it.
   */
  onApplicationShutdown(): void {
    if (this.ownsRegistry) return;
    for (const name of this.held) {
      const record = this.records.get(name);
      if (record === undefined || --record.holders > 0) continue;
      this.records.delete(name);
      if (this.registry.getSingleMetric(name) === record.metric) this.registry.removeSingleMetric(name);
    }
    this.held.clear();
  }

  private baseConfiguration(definition: CounterDefinition<string>) {
    return { name: definition.name, help: definition.help, registers: [this.registry] };
  }

  private getOrCreate<L extends string>(
    kind: MetricKind,
    definition: CounterDefinition<L>,
    buckets: readonly number[] | undefined,
    create: (labelNames: L[]) => Metric<L>,
  ): Metric<string> {
    const { name, help } = definition;
    if (typeof name !== 'string' || !REDKIT_METRIC_NAME.test(name)) {
      throw new MetricDefinitionError(
        String(name),
        `has an invalid name: it must match ${String(REDKIT_METRIC_NAME)} (redkit_<module>_<what>_<unit>)`,
      );
    }
    if (typeof help !== 'string' || help.trim() === '') {
      throw new MetricDefinitionError(name, 'needs a non-empty help text');
    }
    const labelNames = [...(definition.labelNames ?? [])].sort();
    const record = this.findRecord(name);
    if (record !== undefined) {
      assertSameDefinition(name, record, kind, labelNames, buckets);
      this.hold(name, record);
      return record.metric;
    }
    let metric: Metric<L>;
    try {
      metric = create(labelNames);
    } catch (error) {
      // prom-client's messages ("Invalid label name") do not say which metric.
      throw new MetricDefinitionError(name, `cannot be created: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const created: MetricRecord = { kind, labelNames, buckets, metric, holders: 0 };
    this.records.set(name, created);
    this.hold(name, created);
    return metric;
  }

  private findRecord(name: string): MetricRecord | undefined {
    const existing = this.registry.getSingleMetric(name);
    if (existing === undefined) return undefined;
    const record = this.records.get(name);
    if (record === undefined || record.metric !== existing) {
      throw new MetricDefinitionError(
        name,
        'is already in the registry but was not created by MetricsService, so it cannot be shared',
      );
    }
    return record;
  }

  private hold(name: string, record: MetricRecord): void {
    if (this.held.has(name)) return;
    this.held.add(name);
    record.holders += 1;
  }
}

/** prom-client's default buckets (5 ms to 10 s), for deferred histograms given none. */
const DEFAULT_HISTOGRAM_BUCKETS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** A counter whose children count in plain numbers until the registry is collected. */
export interface DeferredCounter<L extends string> {
  /** The prom-client counter the counts end up in. */
  readonly counter: Counter<L>;
  /** A child for one label set; make it once, outside the hot path. */
  labels(labels: Record<L, string>): DeferredCounterChild;
}

/** Counts for one label set of a {@link DeferredCounter}. */
export interface DeferredCounterChild {
  inc(value?: number): void;
}

class DeferredChild implements DeferredCounterChild {
  private pending = 0;

  constructor(
    private readonly counter: Counter<string>,
    private readonly labelValues: Record<string, string>,
  ) {
    counter.inc(labelValues, 0);
  }

  inc(value = 1): void {
    this.pending += value;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.counter.inc(this.labelValues, this.pending);
    this.pending = 0;
  }
}

const deferredChildren = new WeakMap<Counter<string>, Set<DeferredChild>>();

/** prom-client calls this before reading a counter: moves deferred counts into it. */
function flushDeferred(this: Counter<string>): void {
  const children = deferredChildren.get(this);
  if (children !== undefined) for (const child of children) child.flush();
}

function assertSameDefinition(
  name: string,
  record: MetricRecord,
  kind: MetricKind,
  labelNames: readonly string[],
  buckets: readonly number[] | undefined,
): void {
  if (record.kind !== kind) {
    throw new MetricDefinitionError(name, `is already registered as a ${record.kind}, not a ${kind}`);
  }
  if (!sameNumbersOrStrings(record.labelNames, labelNames)) {
    throw new MetricDefinitionError(
      name,
      `is already registered with labels [${record.labelNames.join(', ')}], not [${labelNames.join(', ')}]`,
    );
  }
  if (!sameNumbersOrStrings(record.buckets, buckets)) {
    throw new MetricDefinitionError(
      name,
      `is already registered with buckets ${describeBuckets(record.buckets)}, not ${describeBuckets(buckets)}`,
    );
  }
}

function sameNumbersOrStrings<T extends number | string>(
  left: readonly T[] | undefined,
  right: readonly T[] | undefined,
): boolean {
  if (left === undefined || right === undefined) return left === right;
  return left.length === right.length && left.every((value, index) => value === right[index]);
}

function describeBuckets(buckets: readonly number[] | undefined): string {
  return buckets === undefined ? "prom-client's default buckets" : `[${buckets.join(', ')}]`;
}
