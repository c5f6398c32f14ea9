import type { ThroughputBody, ThroughputPoint, ThroughputSeries } from './console-api.types.js';
import { RING_POINTS, SAMPLE_INTERVAL_MS } from './console.constants.js';
import { bucketBound, histogramQuantile, type Buckets, type MetricReading } from './metric-readings.js';

/** `redkit_stream_messages_total{outcome}` → the series' field. */
const OUTCOMES: Readonly<Record<string, 'added' | 'acked' | 'retried' | 'deadLettered'>> = {
  published: 'added',
  acked: 'acked',
  retried: 'retried',
  dead_lettered: 'deadLettered',
};
/** Streams followed at most (the messaging lib itself labels at most 500 before `other`). */
const MAX_STREAMS = 500;

function rounded(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Throughput per stream from redkit's own counters, sampled every second in process into a ring
 * of `RING_POINTS` points (five minutes), so the page has history the moment it opens and no
 * request ever computes it from Redis: entries added, acked, retried and dead-lettered per second
 * (`redkit_stream_messages_total`), handler latency p50/p95 over each second
 * (`redkit_stream_handler_duration_seconds`, all groups of the stream).
 */
export class ThroughputHistory {
  private readonly series = new Map<string, ThroughputSeries>();
  private readonly lastTotals = new Map<string, number>();
  private readonly lastBuckets = new Map<string, Map<number, number>>();
  private lastAt?: number;

  /** Adds one point per stream from the counters' and histogram's current values; returns the points. */
  record(
    at: number,
    counters: readonly MetricReading[],
    histogram: readonly MetricReading[],
  ): ThroughputPoint[] {
    const seconds =
      this.lastAt === undefined ? SAMPLE_INTERVAL_MS / 1_000 : Math.max(0.001, (at - this.lastAt) / 1_000);
    const first = this.lastAt === undefined;
    this.lastAt = at;
    const deltas = new Map<string, Record<'added' | 'acked' | 'retried' | 'deadLettered', number>>();
    for (const { labels, value } of counters) {
      const field = OUTCOMES[String(labels.outcome)];
      const stream = String(labels.stream ?? '');
      if (field === undefined || stream === '') continue;
      const key = `${stream}\u0000${field}`;
      const last = this.lastTotals.get(key);
      this.lastTotals.set(key, value);
      // The first sample only sets the baseline; a total that went down was reset: count it whole.
      const delta = last === undefined ? (first ? 0 : value) : value >= last ? value - last : value;
      let row = deltas.get(stream);
      if (row === undefined) deltas.set(stream, (row = { added: 0, acked: 0, retried: 0, deadLettered: 0 }));
      row[field] += delta;
    }
    const latency = this.latencies(histogram, first);
    const points: ThroughputPoint[] = [];
    for (const [stream, row] of deltas) {
      const series = this.seriesOf(stream);
      if (series === undefined) continue;
      const [p50Ms, p95Ms] = latency.get(stream) ?? [null, null];
      const point: ThroughputPoint = {
        stream,
        at,
        added: rounded(row.added / seconds),
        acked: rounded(row.acked / seconds),
        retried: rounded(row.retried / seconds),
        deadLettered: rounded(row.deadLettered / seconds),
        p50Ms,
        p95Ms,
      };
      this.push(series, point);
      points.push(point);
    }
    return points;
  }

  /** Every stream's series, leaving out those `hidden` says. */
  body(hidden: (stream: string) => boolean): ThroughputBody {
    const streams: Record<string, ThroughputSeries> = {};
    for (const [stream, series] of this.series) if (!hidden(stream)) streams[stream] = series;
    return { intervalMs: SAMPLE_INTERVAL_MS, points: RING_POINTS, streams };
  }

  /** p50 and p95 in ms per stream over the interval since the last sample. */
  private latencies(
    histogram: readonly MetricReading[],
    first: boolean,
  ): Map<string, [number | null, number | null]> {
    const current = new Map<string, Map<number, number>>();
    for (const { labels, value, metricName } of histogram) {
      if (metricName === undefined || !metricName.endsWith('_bucket')) continue;
      const stream = String(labels.stream ?? '');
      const bound = bucketBound(labels.le);
      let buckets = current.get(stream);
      if (buckets === undefined) current.set(stream, (buckets = new Map()));
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
    }
    const result = new Map<string, [number | null, number | null]>();
    for (const [stream, buckets] of current) {
      const last = this.lastBuckets.get(stream);
      this.lastBuckets.set(stream, buckets);
      // The first sample only sets the baseline; a stream first seen later counts from zero.
      if (last === undefined && first) continue;
      const delta: Buckets = [...buckets].map(([bound, count]) => [
        bound,
        Math.max(0, count - (last?.get(bound) ?? 0)),
      ]);
      const p50 = histogramQuantile(0.5, delta);
      const p95 = histogramQuantile(0.95, delta);
      result.set(stream, [
        p50 === null ? null : rounded(p50 * 1_000),
        p95 === null ? null : rounded(p95 * 1_000),
      ]);
    }
    return result;
  }

  private seriesOf(stream: string): ThroughputSeries | undefined {
    let series = this.series.get(stream);
    if (series === undefined) {
      if (this.series.size >= MAX_STREAMS) return undefined;
      series = { at: [], added: [], acked: [], retried: [], deadLettered: [], p50Ms: [], p95Ms: [] };
      this.series.set(stream, series);
    }
    return series;
  }

  private push(series: ThroughputSeries, point: ThroughputPoint): void {
    series.at.push(point.at);
    series.added.push(point.added);
    series.acked.push(point.acked);
    series.retried.push(point.retried);
    series.deadLettered.push(point.deadLettered);
    series.p50Ms.push(point.p50Ms);
    series.p95Ms.push(point.p95Ms);
    if (series.at.length > RING_POINTS) {
      for (const values of Object.values(series) as unknown[][]) values.shift();
    }
  }
}
