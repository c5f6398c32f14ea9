// Streams: every stream the console found, with its consumer groups one row each beneath it, so
// that length, lag and pending read down a single column. Numbers are totals over the priority
// lanes, with a small per-lane breakdown beneath when a lane other than `normal` is in use. The
// partitions of a partitioned stream (`<name>#<i>`) are folded under one row for it, with its
// groups summed over them, and shown on demand.

import { describeError } from './api.js';
import type { ConsoleContext, View } from './context.js';
import { count, duration, h, loading, patch, plural, route, table, viewSection, type Child } from './dom.js';
import { LANES, laneSplit } from './lanes.js';
import { throughputCharts } from './throughput.js';
import type {
  GroupSummary,
  LanePriority,
  PartitionedStreamSummary,
  StreamsBody,
  StreamSummary,
} from './types.js';

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
  /** The partitioned streams whose partitions are shown. */
  const expanded = new Set<string>();
  const toggle = (name: string) => {
    if (!expanded.delete(name)) expanded.add(name);
    render();
  };

  const render = () => {
    if (last === undefined) return;
    const needle = filter.value.trim().toLowerCase();
    const matches = (s: StreamSummary) =>
      s.name.toLowerCase().includes(needle) || (s.partition?.of.toLowerCase().includes(needle) ?? false);
    const streams = needle ? last.streams.filter(matches) : last.streams;
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
    patch(body, streamsTable(streams, last.partitioned, expanded, toggle));
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

/** What a stream row and a partitioned stream's row show. */
interface StreamNumbers {
  length: number;
  pending: number;
  lag: number | null;
  /** Of the groups with a lag. */
  oldestUndeliveredMs: number | null;
  deadLetters: number;
  entriesAdded: number | null;
  lengthByLane: Map<LanePriority, number>;
  pendingByLane: Map<LanePriority, number>;
}

function numbersOf(streams: readonly StreamSummary[]): StreamNumbers {
  const numbers: StreamNumbers = {
    length: 0,
    pending: 0,
    lag: null,
    oldestUndeliveredMs: null,
    deadLetters: 0,
    entriesAdded: 0,
    lengthByLane: new Map(),
    pendingByLane: new Map(),
  };
  for (const stream of streams) {
    numbers.length += stream.length;
    numbers.deadLetters += stream.deadLetterLength;
    numbers.entriesAdded =
      numbers.entriesAdded === null || stream.entriesAdded === null
        ? null
        : numbers.entriesAdded + stream.entriesAdded;
    for (const lane of stream.lanes) {
      add(numbers.lengthByLane, lane.priority, lane.length);
      add(numbers.pendingByLane, lane.priority, lane.pending);
    }
    for (const group of stream.groups) {
      numbers.pending += group.pending;
      if (group.lag !== null) numbers.lag = Math.max(numbers.lag ?? 0, group.lag);
      if (group.lag !== 0 && group.lagAgeMs !== null)
        numbers.oldestUndeliveredMs = Math.max(numbers.oldestUndeliveredMs ?? 0, group.lagAgeMs);
    }
  }
  return numbers;
}

function add(map: Map<LanePriority, number>, lane: LanePriority, value: number | null): void {
  map.set(lane, (map.get(lane) ?? 0) + (value ?? 0));
}

/** The lanes' values of `map`, highest lane first, for {@link laneSplit}. */
function byLane(
  map: ReadonlyMap<LanePriority, number | null>,
): { priority: LanePriority; value: number | null }[] {
  return LANES.map((priority) => ({ priority, value: map.get(priority) ?? 0 }));
}

/** A numeric cell: the total, and the per-lane breakdown beneath it when lanes are in use. */
function laneCell(
  column: string,
  total: number | null,
  lanes: ReadonlyMap<LanePriority, number | null>,
  warn = false,
): HTMLElement {
  return h(
    'td',
    { class: warn && total ? 'num warn' : 'num', 'data-col': column },
    count(total),
    laneSplit(byLane(lanes)),
  );
}

function streamRow(stream: StreamSummary, partitionOf?: string): HTMLElement {
  const numbers = numbersOf([stream]);
  return h(
    'tr',
    {
      class: partitionOf === undefined ? 'stream-row' : 'stream-row partition-row',
      'data-stream': stream.name,
      'data-partition-of': partitionOf ?? null,
    },
    h(
      'th',
      { scope: 'row', class: partitionOf === undefined ? null : 'partition-name' },
      h('a', { href: route('streams', stream.name), 'data-key': `s:${stream.name}` }, stream.name),
    ),
    laneCell('length', numbers.length, numbers.lengthByLane),
    laneCell('pending', numbers.pending, numbers.pendingByLane),
    h('td', { class: numbers.lag ? 'num warn' : 'num', 'data-col': 'lag' }, count(numbers.lag)),
    h(
      'td',
      { class: 'num' },
      numbers.oldestUndeliveredMs === null ? '—' : duration(numbers.oldestUndeliveredMs),
    ),
    h(
      'td',
      { class: 'num', 'data-col': 'dead' },
      stream.deadLetterLength > 0
        ? h('a', { href: route('dead-letters', stream.name), class: 'bad' }, count(stream.deadLetterLength))
        : '0',
    ),
    h('td', { class: 'num', 'data-col': 'added' }, count(stream.entriesAdded)),
    h('td', { class: 'id' }, stream.firstId ?? '—'),
    h('td', { class: 'id' }, stream.lastId ?? '—'),
    h('td', { class: 'id' }, ''),
  );
}

function groupRow(stream: string, group: GroupSummary, inPartition = false): HTMLElement {
  const pending = new Map(group.lanes.map((lane) => [lane.priority, lane.pending]));
  const lag = new Map(group.lanes.map((lane) => [lane.priority, lane.lag]));
  return h(
    'tr',
    {
      class: inPartition ? 'group-row in-partition' : 'group-row',
      'data-stream': stream,
      'data-group': group.name,
    },
    h(
      'th',
      { scope: 'row', class: 'group-name' },
      h('span', { class: 'visually-hidden' }, 'group '),
      group.name,
    ),
    h('td', { class: 'num' }, ''),
    laneCell('pending', group.pending, pending),
    laneCell('lag', group.lag, lag, true),
    h('td', { class: 'num' }, group.lag === 0 ? '—' : duration(group.lagAgeMs)),
    h('td', { class: 'num' }, ''),
    h('td', { class: 'num' }, ''),
    h('td', { class: 'id' }, ''),
    h('td', { class: 'id' }, ''),
    h('td', { class: 'id' }, group.lastDeliveredId),
  );
}

/** The groups of a partitioned stream, each summed over its partitions (and their lanes). */
function groupsOverPartitions(partitions: readonly StreamSummary[]): GroupSummary[] {
  const totals = new Map<string, GroupSummary>();
  for (const partition of partitions) {
    for (const group of partition.groups) {
      const total = totals.get(group.name);
      if (total === undefined) {
        totals.set(group.name, {
          ...group,
          lastDeliveredId: '',
          lanes: group.lanes.map((lane) => ({ ...lane })),
        });
        continue;
      }
      total.consumers = Math.max(total.consumers, group.consumers);
      total.pending += group.pending;
      total.lag = total.lag === null || group.lag === null ? null : total.lag + group.lag;
      total.lagAgeMs = Math.max(total.lagAgeMs ?? 0, group.lagAgeMs ?? 0);
      for (const lane of group.lanes) {
        const into = total.lanes.find((candidate) => candidate.priority === lane.priority);
        if (into === undefined) total.lanes.push({ ...lane });
        else {
          into.pending += lane.pending;
          into.lag = into.lag === null || lane.lag === null ? null : into.lag + lane.lag;
        }
      }
    }
  }
  return [...totals.values()].sort((left, right) => (left.name < right.name ? -1 : 1));
}

/** A partitioned stream's row (its partitions summed), its groups, and its partitions when shown. */
function partitionedRows(
  partitioned: PartitionedStreamSummary,
  partitions: readonly StreamSummary[],
  shown: boolean,
  toggle: (name: string) => void,
): Child[] {
  const numbers = numbersOf(partitions);
  const groups = groupsOverPartitions(partitions);
  // The most any group lags over all the partitions, as a stream's row shows its groups' most.
  const lags = groups.map((group) => group.lag).filter((lag): lag is number => lag !== null);
  numbers.lag = lags.length > 0 ? Math.max(...lags) : null;
  const { name } = partitioned;
  const label =
    partitioned.partitions === null
      ? plural(partitions.length, 'partition') + ' found'
      : plural(partitioned.partitions, 'partition');
  return [
    h(
      'tr',
      {
        class: 'stream-row partitioned-row',
        'data-stream': name,
        'data-partitioned': partitioned.partitions ?? '',
      },
      h(
        'th',
        { scope: 'row' },
        name,
        ' ',
        h('span', { class: 'badge', 'data-col': 'partitions' }, label),
        partitions.length > 0
          ? h(
              'button',
              {
                type: 'button',
                class: 'link',
                'aria-expanded': shown ? 'true' : 'false',
                'data-key': `p:${name}`,
                onclick: () => toggle(name),
              },
              shown ? 'Hide partitions' : 'Show partitions',
            )
          : null,
      ),
      laneCell('length', numbers.length, numbers.lengthByLane),
      laneCell('pending', numbers.pending, numbers.pendingByLane),
      h('td', { class: numbers.lag ? 'num warn' : 'num', 'data-col': 'lag' }, count(numbers.lag)),
      h(
        'td',
        { class: 'num' },
        numbers.oldestUndeliveredMs === null ? '—' : duration(numbers.oldestUndeliveredMs),
      ),
      h(
        'td',
        { class: numbers.deadLetters ? 'num bad' : 'num', 'data-col': 'dead' },
        count(numbers.deadLetters),
      ),
      h('td', { class: 'num', 'data-col': 'added' }, count(numbers.entriesAdded)),
      h('td', { class: 'id' }, ''),
      h('td', { class: 'id' }, ''),
      h('td', { class: 'id' }, ''),
    ),
    groups.map((group) => groupRow(name, group)),
    shown
      ? partitions.map((partition) => [
          streamRow(partition, name),
          partition.groups.map((group) => groupRow(partition.name, group, true)),
        ])
      : null,
  ];
}

function streamsTable(
  streams: readonly StreamSummary[],
  partitioned: readonly PartitionedStreamSummary[],
  expanded: ReadonlySet<string>,
  toggle: (name: string) => void,
): HTMLElement {
  // A partitioned stream takes the place of its partitions, in name order among the others.
  const partitionsOf = new Map<string, StreamSummary[]>();
  const items: Array<{ name: string; rows: () => Child[] }> = [];
  for (const stream of streams) {
    const of = stream.partition?.of;
    if (of === undefined) {
      items.push({
        name: stream.name,
        rows: () => [streamRow(stream), stream.groups.map((g) => groupRow(stream.name, g))],
      });
      continue;
    }
    const partitions = partitionsOf.get(of);
    if (partitions !== undefined) {
      partitions.push(stream);
      continue;
    }
    const own = [stream];
    partitionsOf.set(of, own);
    const summary = partitioned.find((candidate) => candidate.name === of) ?? {
      name: of,
      partitions: null,
      listed: [],
    };
    items.push({
      name: of,
      rows: () =>
        partitionedRows(
          summary,
          [...own].sort((left, right) => (left.partition?.index ?? 0) - (right.partition?.index ?? 0)),
          expanded.has(of),
          toggle,
        ),
    });
  }
  // What needs attention first (pending, lag, dead letters), ids last: on a phone the table scrolls
  // sideways, and the first columns are the ones seen.
  const rows = items
    .sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0))
    .map((item) => item.rows());
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
