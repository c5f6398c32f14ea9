import type { LimitRates, LimitSeries, LimitsBody } from './console-api.types.js';
import { RING_POINTS } from './console.constants.js';
import type { MetricReading } from './metric-readings.js';
import { TopLimitedIdentities } from './top-limited-identities.js';

const OUTCOMES = ['allowed', 'limited', 'error'] as const;
type Outcome = (typeof OUTCOMES)[number];
/** Limit names followed at most (names are chosen by developers, so they are few). */
const MAX_LIMITS = 200;

function rounded(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Rate-limit decisions over time, from `redkit_ratelimit_requests_total{limit,outcome}` sampled
 * every second in process (five minutes kept), and the top limited identities, which the limiter
 * reports through `RateLimiterService.onRefusal` into a bounded structure.
 */
export class LimitHistory {
  readonly identities = new TopLimitedIdentities();
  private readonly at: number[] = [];
  private readonly series = new Map<string, LimitSeries>();
  private readonly lastTotals = new Map<string, number>();
  private latest: LimitRates[] = [];
  private lastAt?: number;

  record(at: number, counters: readonly MetricReading[]): LimitRates[] {
    const first = this.lastAt === undefined;
    const seconds = first ? 1 : Math.max(0.001, (at - (this.lastAt as number)) / 1_000);
    this.lastAt = at;
    const rates = new Map<string, LimitRates>();
    for (const { labels, value } of counters) {
      const name = String(labels.limit ?? '');
      const outcome = String(labels.outcome) as Outcome;
      if (name === '' || !OUTCOMES.includes(outcome)) continue;
      const key = `${name}\u0000${outcome}`;
      const last = this.lastTotals.get(key);
      this.lastTotals.set(key, value);
      const delta = last === undefined ? (first ? 0 : value) : value >= last ? value - last : value;
      let row = rates.get(name);
      if (row === undefined) rates.set(name, (row = { name, allowed: 0, limited: 0, error: 0 }));
      row[outcome] = rounded(delta / seconds);
    }
    this.at.push(at);
    const trim = this.at.length > RING_POINTS;
    if (trim) this.at.shift();
    for (const row of rates.values()) {
      if (!this.series.has(row.name) && this.series.size < MAX_LIMITS) {
        const zeros = () => new Array<number>(this.at.length - 1).fill(0);
        this.series.set(row.name, { allowed: zeros(), limited: zeros(), error: zeros() });
      }
    }
    for (const [name, series] of this.series) {
      const row = rates.get(name);
      for (const outcome of OUTCOMES) {
        series[outcome].push(row?.[outcome] ?? 0);
        if (trim) series[outcome].shift();
      }
    }
    this.latest = [...rates.values()].sort((left, right) => left.name.localeCompare(right.name));
    return this.latest;
  }

  body(): LimitsBody {
    return {
      limits: this.latest,
      history: { ...Object.fromEntries(this.series), at: [...this.at] },
      top: this.identities.top(),
    };
  }
}
