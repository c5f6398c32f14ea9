import type { Registry, RegistryContentType } from 'prom-client';

/** One value of a metric as the registry holds it (a histogram's `_bucket`, `_sum`, `_count` too). */
export interface MetricReading {
  labels: Record<string, string | number>;
  value: number;
  /** Set on histogram lines: `<name>_bucket`, `<name>_sum`, `<name>_count`. */
  metricName?: string;
}

/**
 * Every value of metric `name` in `registry`, as a scrape would see it (deferred counters are
 * flushed first), or none when no lib registered it. Read in process: no Redis, no HTTP.
 */
export async function readMetric(
  registry: Registry<RegistryContentType>,
  name: string,
): Promise<MetricReading[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const { values } = (await metric.get()) as { values: MetricReading[] };
  return values;
}

/** A histogram's cumulative bucket counts: `[upper bound, count]`, `+Inf` last. */
export type Buckets = Array<[upperBound: number, cumulative: number]>;

/**
 * The `q` quantile (0..1) of the observations a histogram's buckets hold, interpolated linearly
 * inside the bucket it falls in (as Prometheus's histogram_quantile does); the largest finite bound
 * when it falls in `+Inf`; null with no observations.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | null {
  const sorted = [...buckets].sort((left, right) => left[0] - right[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [upperBound, cumulative] of sorted) {
    if (cumulative >= rank) {
      if (!Number.isFinite(upperBound)) return lowerBound;
      const inBucket = cumulative - lowerCount;
      if (inBucket <= 0) return upperBound;
      return lowerBound + ((upperBound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = upperBound;
    lowerCount = cumulative;
  }
  return lowerBound;
}

/** Upper bound of a bucket line's `le` label. */
export function bucketBound(le: string | number | undefined): number {
  return le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
}
