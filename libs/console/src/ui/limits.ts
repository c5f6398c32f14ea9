// Rate limits: decisions per second over time (allowed against limited), the last second per
// limit, and the identities refused most over the last five minutes.

import { describeError } from './api.js';
import { LineChart, type SeriesData } from './chart.js';
import type { ConsoleContext, View } from './context.js';
import { clock, count, h, loading, number, patch, table, viewSection } from './dom.js';
import type { LimitsBody } from './types.js';

export function limitsView(context: ConsoleContext): View {
  const allowedChart = new LineChart({ title: 'Allowed per second', format: (v) => `${number(v)}/s` });
  const limitedChart = new LineChart({ title: 'Limited per second', format: (v) => `${number(v)}/s` });
  const current = loading();
  const top = h('div');
  const element = viewSection(
    'Rate limits',
    h('div', { class: 'charts' }, allowedChart.element, limitedChart.element),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'limits-now' },
      h('h3', { id: 'limits-now' }, 'Last second'),
      current,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'limits-top' },
      h('h3', { id: 'limits-top' }, 'Most limited identities, last 5 minutes'),
      top,
    ),
  );

  const render = (body: LimitsBody) => {
    current.removeAttribute('aria-busy');
    const { at, allowed, limited } = readLimitHistory(body.history);
    allowedChart.update(at, allowed);
    limitedChart.update(at, limited);
    patch(
      current,
      table(
        'Decisions in the last second, per limit',
        [
          'Limit',
          { label: 'Allowed/s', numeric: true },
          { label: 'Limited/s', numeric: true },
          { label: 'Errors/s', numeric: true },
        ],
        body.limits.map((limit) =>
          h(
            'tr',
            { 'data-limit': limit.name },
            h('th', { scope: 'row' }, limit.name),
            h('td', { class: 'num' }, number(limit.allowed)),
            h('td', { class: limit.limited ? 'num warn' : 'num' }, number(limit.limited)),
            h('td', { class: limit.error ? 'num bad' : 'num' }, number(limit.error)),
          ),
        ),
        { empty: 'No limit has decided anything yet.', captionHidden: true },
      ),
    );
    patch(
      top,
      table(
        'Most limited identities',
        ['Identity', 'Limit', { label: 'Refused', numeric: true }, 'Last refused'],
        body.top.map((entry) =>
          h(
            'tr',
            null,
            h('th', { scope: 'row', class: 'id' }, entry.identity),
            h('td', null, entry.limit),
            h('td', { class: 'num' }, count(entry.refused)),
            h('td', null, clock(entry.lastAt)),
          ),
        ),
        { empty: 'Nobody was limited in the last 5 minutes.', captionHidden: true },
      ),
    );
    context.firstRender();
  };

  const load = async () => {
    try {
      render(await context.api.get<LimitsBody>('limits'));
    } catch (error) {
      patch(current, h('p', { class: 'error' }, `Could not load rate limits: ${describeError(error)}`));
    }
  };
  const stop = context.live.subscribe('limits', (data) => render(data as LimitsBody), load);
  void load();
  return {
    element,
    destroy() {
      stop();
      allowedChart.destroy();
      limitedChart.destroy();
    },
  };
}

/**
 * API.md gives the history as `{ at: number[], [name]: ... }`. Accepted per name: an object
 * of arrays `{ allowed, limited }` (the natural reading), or a bare array taken as limited per second.
 */
export function readLimitHistory(history: Record<string, unknown> | undefined): {
  at: number[];
  allowed: SeriesData[];
  limited: SeriesData[];
} {
  const at = Array.isArray(history?.at) ? (history.at as number[]) : [];
  const allowed: SeriesData[] = [];
  const limited: SeriesData[] = [];
  for (const [name, value] of Object.entries(history ?? {})) {
    if (name === 'at') continue;
    if (Array.isArray(value)) {
      limited.push({ label: name, values: value as number[] });
    } else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (Array.isArray(record.allowed)) allowed.push({ label: name, values: record.allowed as number[] });
      if (Array.isArray(record.limited)) limited.push({ label: name, values: record.limited as number[] });
    }
  }
  return { at, allowed: allowed.slice(0, 6), limited: limited.slice(0, 6) };
}
