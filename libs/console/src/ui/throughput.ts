// Throughput: per-second rates of every stream (added, acked, retried, dead-lettered) and handler
// latency (p50, p95). The server keeps 5 minutes of history, so the charts are full on load; the
// push channel then appends the newest point.

import { LineChart } from './chart.js';
import type { ConsoleContext, View } from './context.js';
import { h, number, patch, route, table, viewSection } from './dom.js';
import type { ThroughputBody, ThroughputSeries } from './types.js';

const RATE_KEYS = ['added', 'acked', 'retried', 'deadLettered'] as const;
const RATE_LABELS = ['in', 'acked', 'retried', 'dead-lettered'];
const LATENCY_KEYS = ['p50Ms', 'p95Ms'] as const;

type Listener = () => void;

/** The page's copy of the throughput history, shared by every view that charts it. */
export class ThroughputStore {
  private streams = new Map<string, ThroughputSeries>();
  private points = 300;
  private readonly listeners = new Set<Listener>();
  private unsubscribe: (() => void) | undefined;
  private loaded: Promise<void> | undefined;

  constructor(private readonly context: { api: ConsoleContext['api']; live: ConsoleContext['live'] }) {}

  /** Calls `listener` whenever the data changes; loads the history on the first subscription. */
  watch(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.unsubscribe === undefined) {
      this.unsubscribe = this.context.live.subscribe(
        'throughput',
        (data) => this.applyPoint(data),
        () => this.load(),
      );
      this.loaded = this.load().catch(() => undefined);
    } else {
      void this.ready().then(() => this.listeners.has(listener) && listener());
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.unsubscribe?.();
        this.unsubscribe = undefined;
      }
    };
  }

  ready(): Promise<void> {
    return this.loaded ?? Promise.resolve();
  }

  names(): string[] {
    return [...this.streams.keys()].sort();
  }

  series(stream: string): ThroughputSeries | undefined {
    return this.streams.get(stream);
  }

  /** The per-second rates of all streams added up (latency does not add up, so it is left out). */
  total(): { at: number[]; rates: number[][] } {
    const all = [...this.streams.values()];
    const longest = all.reduce<ThroughputSeries | undefined>(
      (best, s) => (best === undefined || s.at.length > best.at.length ? s : best),
      undefined,
    );
    const at = longest?.at ?? [];
    const rates = RATE_KEYS.map((key) =>
      at.map((time, index) => {
        let sum = 0;
        for (const series of all) {
          // Align on the end: every stream's newest point is the same second.
          const offset = series.at.length - at.length + index;
          const value = offset >= 0 && series.at[offset] === time ? series[key][offset] : undefined;
          sum += value ?? 0;
        }
        return sum;
      }),
    );
    return { at, rates };
  }

  async load(): Promise<void> {
    const body = await this.context.api.get<ThroughputBody>('throughput');
    this.points = body.points || 300;
    this.streams = new Map(Object.entries(body.streams ?? {}));
    this.emit();
  }

  /**
   * Appends the pushed point. API.md says "the newest point per stream" without a shape; this
   * accepts `{ streams: { [name]: point } }` or `{ [name]: point }`, a point holding numbers or
   * one-element arrays, with `at` in the point or beside `streams` (else now).
   */
  applyPoint(data: unknown): void {
    if (data === null || typeof data !== 'object') return;
    const record = data as Record<string, unknown>;
    const perStream = (
      record.streams && typeof record.streams === 'object' ? record.streams : record
    ) as Record<string, unknown>;
    const sharedAt = lastNumber(record.at);
    for (const [name, raw] of Object.entries(perStream)) {
      if (raw === null || typeof raw !== 'object' || name === 'at') continue;
      const point = raw as Record<string, unknown>;
      const at = lastNumber(point.at) ?? sharedAt ?? Math.floor(Date.now() / 1000) * 1000;
      const series = this.streams.get(name) ?? {
        at: [],
        added: [],
        acked: [],
        retried: [],
        deadLettered: [],
        p50Ms: [],
        p95Ms: [],
      };
      const last = series.at.length - 1;
      const replace = last >= 0 && (series.at[last] ?? 0) >= at;
      if (replace && series.at[last] !== at) continue; // older than what we have
      if (!replace) series.at.push(at);
      for (const key of [...RATE_KEYS, ...LATENCY_KEYS]) {
        const value = lastNumber(point[key]);
        const target = series[key] as (number | null)[];
        if (replace) target[target.length - 1] = value ?? null;
        else target.push(value ?? (key.endsWith('Ms') ? null : 0));
      }
      const excess = series.at.length - this.points;
      if (excess > 0) {
        for (const key of ['at', ...RATE_KEYS, ...LATENCY_KEYS] as const) series[key].splice(0, excess);
      }
      this.streams.set(name, series);
    }
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

function lastNumber(value: unknown): number | undefined {
  const candidate = Array.isArray(value) ? value[value.length - 1] : value;
  return typeof candidate === 'number' && Number.isFinite(candidate) ? candidate : undefined;
}

const perSecond = (value: number) => `${number(value)}/s`;
const milliseconds = (value: number) => `${number(value)} ms`;

/** The two charts of one stream (or of all streams, rates only), kept up to date from the store. */
export function throughputCharts(
  store: ThroughputStore,
  stream: string | null,
): { element: HTMLElement; destroy(): void } {
  const rates = new LineChart({
    title: stream === null ? 'Messages per second, all streams' : 'Messages per second',
    format: perSecond,
  });
  const latency = stream === null ? null : new LineChart({ title: 'Handler latency', format: milliseconds });
  const element = h('div', { class: 'charts' }, rates.element, latency?.element ?? null);
  const render = () => {
    if (stream === null) {
      const total = store.total();
      rates.update(
        total.at,
        total.rates.map((values, i) => ({ label: RATE_LABELS[i] ?? '', values })),
      );
      return;
    }
    const series = store.series(stream);
    const at = series?.at ?? [];
    rates.update(
      at,
      RATE_KEYS.map((key, i) => ({ label: RATE_LABELS[i] ?? key, values: series?.[key] ?? [] })),
    );
    latency?.update(at, [
      { label: 'p50', values: series?.p50Ms ?? [] },
      { label: 'p95', values: series?.p95Ms ?? [] },
    ]);
  };
  const stop = store.watch(render);
  render();
  return {
    element,
    destroy() {
      stop();
      rates.destroy();
      latency?.destroy();
    },
  };
}

/** The Throughput view: charts for one stream or all, and a table of every stream's latest rates. */
export function throughputView(context: ConsoleContext, params: string[]): View {
  const selected = params[0] ?? null;
  const store = context.throughput;
  const picker = h('select', { id: 'throughput-stream' });
  picker.addEventListener('change', () => {
    location.hash = picker.value === '' ? route('throughput') : route('throughput', picker.value);
  });
  const charts = throughputCharts(store, selected);
  const rows = h('div');
  const element = viewSection(
    'Throughput',
    h(
      'p',
      { class: 'toolbar' },
      h('label', { for: 'throughput-stream' }, 'Stream '),
      picker,
      h('span', { class: 'muted' }, ' Per-second rates from redkit’s own metrics, the last 5 minutes.'),
    ),
    charts.element,
    rows,
  );

  const render = () => {
    const names = store.names();
    patch(
      picker,
      h('option', { value: '', selected: selected === null }, 'All streams'),
      names.map((name) => h('option', { value: name, selected: name === selected }, name)),
    );
    const latest = (values: (number | null)[]) => values[values.length - 1] ?? null;
    patch(
      rows,
      table(
        'Latest second, per stream',
        [
          'Stream',
          { label: 'In/s', numeric: true },
          { label: 'Acked/s', numeric: true },
          { label: 'Retried/s', numeric: true },
          { label: 'Dead-lettered/s', numeric: true },
          { label: 'p50', numeric: true },
          { label: 'p95', numeric: true },
        ],
        names.map((name) => {
          const series = store.series(name);
          if (series === undefined) return null;
          return h(
            'tr',
            { 'data-stream': name },
            h(
              'th',
              { scope: 'row' },
              h('a', { href: route('throughput', name), 'data-key': `t:${name}` }, name),
            ),
            RATE_KEYS.map((key) => h('td', { class: 'num' }, number(latest(series[key])))),
            LATENCY_KEYS.map((key) => {
              const value = latest(series[key]);
              return h('td', { class: 'num' }, value === null ? '—' : milliseconds(value));
            }),
          );
        }),
        { empty: 'No stream has throughput yet.' },
      ),
    );
    context.firstRender();
  };
  const stop = store.watch(render);
  return {
    element,
    destroy() {
      stop();
      charts.destroy();
    },
  };
}
