// Streams: every stream the console found, with its consumer groups one row each beneath it, so
// that length, lag and pending read down a single column.

import { describeError } from './api.js';
import type { ConsoleContext, View } from './context.js';
import { count, duration, h, loading, patch, plural, route, table, viewSection } from './dom.js';
import { throughputCharts } from './throughput.js';
import type { StreamsBody, StreamSummary } from './types.js';

export function streamsView(context: ConsoleContext): View {
  const filter = h('input', { id: 'streams-filter', type: 'search', placeholder: 'name contains…' });
  const summary = h('p', { class: 'summary', 'aria-live': 'off' });
  const body = loading('Loading streams…');
  const charts = throughputCharts(context.throughput, null);
  const element = viewSection(
    'Streams',
    summary,
    charts.element,
    h('p', { class: 'toolbar' }, h('label', { for: 'streams-filter' }, 'Filter '), filter),
    body,
  );
  let last: StreamsBody | undefined;

  const render = () => {
    if (last === undefined) return;
    const needle = filter.value.trim().toLowerCase();
    const streams = needle ? last.streams.filter((s) => s.name.toLowerCase().includes(needle)) : last.streams;
    const totals = last.streams.reduce(
      (sum, s) => {
        sum.length += s.length;
        sum.dead += s.deadLetterLength;
        for (const group of s.groups) {
          sum.pending += group.pending;
          sum.lag += group.lag ?? 0;
        }
        return sum;
      },
      { length: 0, pending: 0, lag: 0, dead: 0 },
    );
    patch(
      summary,
      `${plural(last.streams.length, 'stream')} · ${plural(totals.length, 'entry', 'entries')} · `,
      `${count(totals.pending)} pending · ${count(totals.lag)} not yet delivered · `,
      plural(totals.dead, 'dead letter'),
      last.truncated ? h('strong', null, ' · the scan stopped early: not every stream is listed') : null,
    );
    patch(body, streamsTable(streams));
    body.removeAttribute('aria-busy');
    context.firstRender();
  };

  const load = async () => {
    try {
      last = await context.api.get<StreamsBody>('streams');
      render();
    } catch (error) {
      patch(body, h('p', { class: 'error' }, `Could not load streams: ${describeError(error)}`));
    }
  };

  filter.addEventListener('input', render);
  const stop = context.live.subscribe(
    'streams',
    (data) => {
      last = data as StreamsBody;
      render();
    },
    load,
  );
  void load();
  return {
    element,
    destroy() {
      stop();
      charts.destroy();
    },
  };
}

function streamsTable(streams: StreamSummary[]): HTMLElement {
  // What needs attention first (pending, lag, dead letters), ids last: on a phone the table scrolls
  // sideways, and the first columns are the ones seen.
  const rows = streams.flatMap((stream) => {
    const pending = stream.groups.reduce((sum, g) => sum + g.pending, 0);
    const lags = stream.groups.map((g) => g.lag).filter((lag): lag is number => lag !== null);
    const ages = stream.groups
      .filter((g) => g.lag !== 0)
      .map((g) => g.lagAgeMs)
      .filter((age): age is number => age !== null);
    const lag = lags.length ? Math.max(...lags) : null;
    return [
      h(
        'tr',
        { class: 'stream-row', 'data-stream': stream.name },
        h(
          'th',
          { scope: 'row' },
          h('a', { href: route('streams', stream.name), 'data-key': `s:${stream.name}` }, stream.name),
        ),
        h('td', { class: 'num', 'data-col': 'length' }, count(stream.length)),
        h('td', { class: 'num', 'data-col': 'pending' }, count(pending)),
        h('td', { class: lag ? 'num warn' : 'num', 'data-col': 'lag' }, count(lag)),
        h('td', { class: 'num' }, ages.length ? duration(Math.max(...ages)) : '—'),
        h(
          'td',
          { class: 'num', 'data-col': 'dead' },
          stream.deadLetterLength > 0
            ? h(
                'a',
                { href: route('dead-letters', stream.name), class: 'bad' },
                count(stream.deadLetterLength),
              )
            : '0',
        ),
        h('td', { class: 'num', 'data-col': 'added' }, count(stream.entriesAdded)),
        h('td', { class: 'id' }, stream.firstId ?? '—'),
        h('td', { class: 'id' }, stream.lastId ?? '—'),
        h('td', { class: 'id' }, ''),
      ),
      ...stream.groups.map((group) =>
        h(
          'tr',
          { class: 'group-row', 'data-stream': stream.name, 'data-group': group.name },
          h(
            'th',
            { scope: 'row', class: 'group-name' },
            h('span', { class: 'visually-hidden' }, 'group '),
            group.name,
          ),
          h('td', { class: 'num' }, ''),
          h('td', { class: 'num', 'data-col': 'pending' }, count(group.pending)),
          h('td', { class: group.lag ? 'num warn' : 'num', 'data-col': 'lag' }, count(group.lag)),
          h('td', { class: 'num' }, group.lag === 0 ? '—' : duration(group.lagAgeMs)),
          h('td', { class: 'num' }, ''),
          h('td', { class: 'num' }, ''),
          h('td', { class: 'id' }, ''),
          h('td', { class: 'id' }, ''),
          h('td', { class: 'id' }, group.lastDeliveredId),
        ),
      ),
    ];
  });
  return table(
    'Streams and their consumer groups',
    [
      'Stream / group',
      { label: 'Length', numeric: true },
      { label: 'Pending', numeric: true },
      { label: 'Lag', numeric: true },
      { label: 'Oldest undelivered', numeric: true },
      { label: 'Dead letters', numeric: true },
      { label: 'Entries added', numeric: true },
      'First id',
      'Last id',
      'Last delivered',
    ],
    rows,
    { empty: 'No streams found.', captionHidden: true },
  );
}
