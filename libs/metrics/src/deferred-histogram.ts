/** One line of a scrape, as prom-client's registry reads it from a metric's `get()`. */
interface ScrapeValue {
  labels: Record<string, string>;
  value: number;
  metricName: string;
}

/** What a metric's `get()` returns to prom-client's registry (its typings name it otherwise). */
export interface ScrapedMetric {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: ScrapeValue[];
}

/** Observations for one label set of a {@link DeferredHistogram}. */
export interface DeferredHistogramChild {
  /** Records one value (seconds, for durations). */
  observe(value: number): void;
}

/** A histogram whose children aggregate in plain arrays; see `MetricsService.deferredHistogram`. */
export interface DeferredHistogram<L extends string> {
  /** A child for one label set; make it once, outside the hot path. Equal label sets share a child. */
  labels(labels: Record<L, string>): DeferredHistogramChild;
}

class HistogramAggregate implements DeferredHistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const { bounds } = this;
    let index = 0;
    while (index < bounds.length && value > (bounds[index] as number)) index += 1;
    this.counts[index] = (this.counts[index] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

/**
 * A Prometheus histogram as a custom registry metric: an observation is a short bucket scan and
 * three additions, where prom-client's labelled `observe` also hashes the labels on every call.
 * The registry renders it like any histogram (`_bucket{le}`, `_sum`, `_count`).
 */
export class DeferredHistogramMetric<L extends string> implements DeferredHistogram<L> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly children = new Map<string, HistogramAggregate>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {}

  labels(labels: Record<L, string>): DeferredHistogramChild {
    const values: Record<string, string> = {};
    for (const name of this.labelNames) values[name] = String((labels as Record<string, string>)[name] ?? '');
    const key = JSON.stringify(values);
    let child = this.children.get(key);
    if (child === undefined) this.children.set(key, (child = new HistogramAggregate(values, this.bounds)));
    return child;
  }

  /** What the registry serializes; called on every scrape. */
  async get(): Promise<ScrapedMetric> {
    const values: ScrapeValue[] = [];
    for (const child of this.children.values()) {
      let cumulative = 0;
      for (let index = 0; index <= this.bounds.length; index += 1) {
        cumulative += child.counts[index] as number;
        const le = index < this.bounds.length ? String(this.bounds[index]) : '+Inf';
        values.push({
          labels: { le, ...child.labels },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: child.labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels: child.labels, value: child.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  reset(): void {
    for (const child of this.children.values()) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }
}
