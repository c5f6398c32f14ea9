// One stream: its numbers (and each priority lane's, when lanes other than `normal` are in use),
// its throughput, its groups and consumers (with the dead ones flagged), and the pending entries of
// a group.

import { ApiError, describeError } from './api.js';
import type { ConsoleContext, View } from './context.js';
import { bytes, count, dateTime, duration, h, idTime, loading, patch, route, table } from './dom.js';
import { laneBadge, laneSplit } from './lanes.js';
import { pendingPanel } from './pending.js';
import { throughputCharts } from './throughput.js';
import type { GroupSummary, StreamDetail, StreamsBody } from './types.js';

export function streamView(context: ConsoleContext, params: string[]): View {
  const stream = params[0] ?? '';
  const facts = loading();
  const groups = h('div');
  const consumers = h('div');
  const charts = throughputCharts(context.throughput, stream);
  let loaded: StreamDetail | undefined;
  const refresh = async () => {
    try {
      loaded = await context.api.get<StreamDetail>(`streams/${encodeURIComponent(stream)}`);
    } catch (error) {
      const message =
        error instanceof ApiError && error.status === 404
          ? 'This stream does not exist, or the console is configured to hide it.'
          : `Could not load the stream: ${describeError(error)}`;
      patch(facts, h('p', { class: 'error' }, message));
      return;
    }
    render(loaded);
    pending.update(loaded);
  };
  const pending = pendingPanel(context, stream, () => void refresh());
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'view-title' },
    h('p', { class: 'crumbs' }, h('a', { href: route('streams') }, 'Streams'), ' / '),
    h('h2', { id: 'view-title', tabindex: -1 }, stream),
    facts,
    charts.element,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'groups-title' },
      h('h3', { id: 'groups-title' }, 'Consumer groups'),
      groups,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'consumers-title' },
      h('h3', { id: 'consumers-title' }, 'Consumers'),
      consumers,
    ),
    pending.element,
  );

  const render = (detail: StreamDetail) => {
    facts.removeAttribute('aria-busy');
    patch(
      facts,
      h(
        'dl',
        { class: 'facts' },
        fact('Length', count(detail.length)),
        fact('Entries added', count(detail.entriesAdded)),
        fact(
          'First id',
          detail.firstId ?? '—',
          detail.firstId ? dateTime(idTime(detail.firstId)) : undefined,
        ),
        fact('Last id', detail.lastId ?? '—', detail.lastId ? dateTime(idTime(detail.lastId)) : undefined),
        fact('Memory (estimate)', bytes(detail.memoryBytes)),
        fact(
          'Dead letters',
          h(
            'a',
            { href: route('dead-letters', stream), class: detail.deadLetterLength ? 'bad' : null },
            count(detail.deadLetterLength),
          ),
        ),
        detail.partition === null
          ? null
          : fact(
              'Partition',
              `${detail.partition.index} of ${detail.partition.of}`,
              detail.partition.partitions === null
                ? undefined
                : `${detail.partition.partitions} partitions, ${detail.partition.of}#0 to #${detail.partition.partitions - 1}`,
            ),
      ),
      lanesTable(detail),
    );
    patch(
      groups,
      table(
        'Consumer groups',
        [
          'Group',
          { label: 'Consumers', numeric: true },
          { label: 'Pending', numeric: true },
          { label: 'Lag', numeric: true },
          { label: 'Oldest undelivered', numeric: true },
          { label: 'Entries read', numeric: true },
          'Last delivered id',
        ],
        detail.groups.map((group) =>
          h(
            'tr',
            { 'data-group': group.name },
            h('th', { scope: 'row' }, group.name),
            h('td', { class: 'num' }, count(group.consumers)),
            h(
              'td',
              { class: 'num', 'data-col': 'pending' },
              count(group.pending),
              laneSplit(lanesOf(group, 'pending')),
            ),
            h(
              'td',
              { class: group.lag ? 'num warn' : 'num', 'data-col': 'lag' },
              count(group.lag),
              laneSplit(lanesOf(group, 'lag')),
            ),
            h('td', { class: 'num' }, group.lag === 0 ? '—' : duration(group.lagAgeMs)),
            h('td', { class: 'num' }, count(group.entriesRead)),
            h('td', { class: 'id' }, group.lastDeliveredId),
          ),
        ),
        { empty: 'No consumer group reads this stream.', captionHidden: true },
      ),
    );
    patch(
      consumers,
      table(
        'Consumers',
        [
          'Group',
          'Consumer',
          { label: 'Pending', numeric: true },
          { label: 'Idle', numeric: true },
          { label: 'Inactive', numeric: true },
          'State',
        ],
        detail.consumers.map((consumer) =>
          h(
            'tr',
            { 'data-group': consumer.group, 'data-consumer': consumer.name },
            h('td', null, consumer.group),
            h('th', { scope: 'row' }, consumer.name),
            h('td', { class: 'num', 'data-col': 'pending' }, count(consumer.pending)),
            h('td', { class: 'num' }, duration(consumer.idleMs)),
            h('td', { class: 'num' }, duration(consumer.inactiveMs)),
            h(
              'td',
              null,
              consumer.dead
                ? h('span', { class: 'badge bad' }, 'dead')
                : h('span', { class: 'badge ok' }, 'alive'),
            ),
          ),
        ),
        { empty: 'No consumers.', captionHidden: true },
      ),
    );
    context.firstRender();
  };

  // The streams push says when anything about this stream changed; only then is the detail re-read.
  let fingerprint = '';
  const stop = context.live.subscribe(
    'streams',
    (data) => {
      const summary = (data as StreamsBody).streams.find((s) => s.name === stream);
      const next = JSON.stringify(summary ?? null);
      if (next === fingerprint) return;
      fingerprint = next;
      void refresh();
    },
    refresh,
  );
  void refresh();
  return {
    element,
    destroy() {
      stop();
      charts.destroy();
    },
  };
}

function lanesOf(group: GroupSummary, what: 'pending' | 'lag') {
  return group.lanes.map((lane) => ({ priority: lane.priority, value: lane[what] }));
}

/** Each lane's length and pending entries; nothing while only `normal` is in use. */
function lanesTable(detail: StreamDetail): HTMLElement | null {
  if (detail.lanes.every((lane) => lane.priority === 'normal' || (lane.length === 0 && lane.pending === 0)))
    return null;
  return h(
    'div',
    { class: 'lanes-table' },
    table(
      'Priority lanes',
      ['Lane', { label: 'Length', numeric: true }, { label: 'Pending', numeric: true }],
      detail.lanes.map((lane) =>
        h(
          'tr',
          { 'data-lane': lane.priority },
          h('th', { scope: 'row' }, laneBadge(lane.priority)),
          h('td', { class: 'num', 'data-col': 'length' }, count(lane.length)),
          h('td', { class: 'num', 'data-col': 'pending' }, count(lane.pending)),
        ),
      ),
      { captionHidden: false },
    ),
  );
}

function fact(label: string, value: string | Node, hint?: string): HTMLElement {
  return h('div', null, h('dt', null, label), h('dd', { title: hint ?? null }, value));
}
