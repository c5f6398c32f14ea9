// Pending entries of one consumer group, of every priority lane (each row says its lane): paged by
// cursor, filtered by consumer and lane, and (in operate mode) acknowledged, claimed to another
// consumer, swept with XAUTOCLAIM (every lane) or deleted. An action on entries of several lanes
// sends one request per lane, since each names the lane its ids are on.

import { describeError } from './api.js';
import type { ConsoleContext } from './context.js';
import { openDialog } from './dialog.js';
import { count, duration, fieldsBlock, h, patch, table } from './dom.js';
import { EntrySelection, rowButton } from './entry-selection.js';
import { LANES, laneBadge } from './lanes.js';
import type {
  AutoclaimReport,
  ConsoleAction,
  LanePriority,
  PendingEntry,
  PendingPage,
  StreamDetail,
} from './types.js';

const PAGE_SIZE = 50;

/**
 * What the selection and the row buttons know an entry by: its id, with its lane after a space
 * unless it is `normal` (one id may be pending on two lanes: they are separate streams).
 */
function refOf(entry: PendingEntry): string {
  return entry.priority === 'normal' ? entry.id : `${entry.id} ${entry.priority}`;
}

/** The ids of `refs`, by lane. */
function byLane(refs: readonly string[]): Map<LanePriority, string[]> {
  const lanes = new Map<LanePriority, string[]>();
  for (const ref of refs) {
    const [id = '', lane = 'normal'] = ref.split(' ');
    const priority = LANES.find((candidate) => candidate === lane) ?? 'normal';
    lanes.set(priority, [...(lanes.get(priority) ?? []), id]);
  }
  return lanes;
}

export interface PendingPanel {
  element: HTMLElement;
  /** Shows the groups and consumers of a (re)loaded stream detail and refreshes the page shown. */
  update(detail: StreamDetail): void;
  refresh(): Promise<void>;
}

export function pendingPanel(context: ConsoleContext, stream: string, onChange: () => void): PendingPanel {
  const can = (action: ConsoleAction) => context.can(action, stream);
  const operate = (['ack', 'claim', 'delete-pending', 'autoclaim'] as const).some(can);
  const groupSelect = h('select', { id: 'pending-group' });
  const consumerSelect = h('select', { id: 'pending-consumer' });
  const laneSelect = h(
    'select',
    { id: 'pending-lane' },
    h('option', { value: '' }, 'All lanes'),
    LANES.map((lane) => h('option', { value: lane }, lane)),
  );
  const selection = new EntrySelection({
    operate,
    refresh: () => refresh(),
    actions: [
      can('ack') ? { label: 'Ack selected', run: (ids) => void ack(ids) } : null,
      can('claim') ? { label: 'Claim selected…', run: (ids) => void claim(ids) } : null,
      can('delete-pending')
        ? { label: 'Delete selected…', danger: true, run: (ids) => void remove(ids) }
        : null,
      can('autoclaim')
        ? { label: 'Sweep idle entries (XAUTOCLAIM)…', always: true, run: () => void sweep() }
        : null,
    ],
  });
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading pending entries…'));
  const element = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'pending-title' },
    h('h3', { id: 'pending-title' }, 'Pending entries'),
    h(
      'p',
      { class: 'toolbar' },
      h('label', { for: 'pending-group' }, 'Group '),
      groupSelect,
      h('label', { for: 'pending-consumer' }, ' Consumer '),
      consumerSelect,
      h('label', { for: 'pending-lane' }, ' Lane '),
      laneSelect,
    ),
    operate ? selection.bar : null,
    list,
    selection.pager,
  );

  let detail: StreamDetail | undefined;
  let group = '';
  let consumer = '';
  let lane = '';
  let page: PendingPage | undefined;

  const path = () => `streams/${encodeURIComponent(stream)}/groups/${encodeURIComponent(group)}/pending`;
  const consumersOfGroup = () =>
    (detail?.consumers ?? []).filter((c) => c.group === group).map((c) => c.name);

  const refresh = async () => {
    if (group === '') {
      patch(list, h('p', { class: 'muted' }, 'This stream has no consumer group.'));
      patch(selection.pager);
      return;
    }
    try {
      page = await context.api.get<PendingPage>(path(), {
        after: selection.after,
        limit: PAGE_SIZE,
        consumer,
        priority: lane,
      });
    } catch (error) {
      patch(list, h('p', { class: 'error' }, `Could not load pending entries: ${describeError(error)}`));
      return;
    }
    selection.keepOnly(page.entries.map((entry) => ({ id: refOf(entry) })));
    render();
  };

  const render = () => {
    if (page === undefined) return;
    const headers = selection.headers([
      'Id',
      'Lane',
      'Consumer',
      { label: 'Idle', numeric: true },
      { label: 'Deliveries', numeric: true },
      'Fields',
    ]);
    patch(
      list,
      table(
        `Pending entries of group ${group}`,
        headers,
        page.entries.map((entry) => entryRow(entry)),
        { empty: 'Nothing pending: every delivered entry was acknowledged.', captionHidden: true },
      ),
    );
    selection.renderPager(page.next);
    selection.renderBar();
  };

  const entryRow = (entry: PendingEntry) => {
    const ref = refOf(entry);
    return h(
      'tr',
      { 'data-id': entry.id, 'data-priority': entry.priority, 'data-consumer': entry.consumer },
      selection.checkboxCell(ref),
      h('th', { scope: 'row', class: 'id' }, entry.id),
      h('td', { 'data-col': 'lane' }, laneBadge(entry.priority)),
      h('td', { 'data-col': 'consumer' }, entry.consumer),
      h('td', { class: 'num' }, duration(entry.idleMs)),
      h('td', { class: entry.deliveries > 1 ? 'num warn' : 'num' }, count(entry.deliveries)),
      h('td', null, fieldsBlock(entry.fields, entry.truncated)),
      selection.actionsCell(
        can('ack') ? rowButton('Ack', 'ack', ref, () => void ack([ref])) : null,
        can('claim') ? rowButton('Claim…', 'claim', ref, () => void claim([ref])) : null,
        can('delete-pending') ? rowButton('Delete…', 'del', ref, () => void remove([ref]), true) : null,
      ),
    );
  };

  /** Posts `body` with each lane's ids of `refs` to `path()/action`, one request per lane. */
  const perLane = <T>(action: string, refs: readonly string[], body: Record<string, unknown>) =>
    Promise.all(
      [...byLane(refs)].map(([priority, ids]) =>
        context.api.post<T>(`${path()}/${action}`, { ...body, ids, priority }),
      ),
    );

  const after = async () => {
    selection.selected.clear();
    await refresh();
    onChange();
  };

  const ack = async (ids: string[]) => {
    const result = await context.act({
      action: 'ack',
      stream,
      title: 'Acknowledge',
      confirmLabel: 'Acknowledge',
      run: async () => {
        const answers = await perLane<{ acked: number }>('ack', ids, {});
        return { acked: answers.reduce((sum, answer) => sum + answer.acked, 0) };
      },
      done: (r) => `Acknowledged ${count(r.acked)} of ${count(ids.length)} entries.`,
    });
    if (result) await after();
  };

  const claim = async (ids: string[]) => {
    const answer = await openDialog({
      title: ids.length === 1 ? `Claim ${ids[0]}` : `Claim ${ids.length} entries`,
      message: `The entries move to the chosen consumer of group ${group}, which gets them on its next read of its own pending entries.`,
      confirmLabel: 'Claim',
      fields: [
        { name: 'consumer', label: 'To consumer', suggestions: consumersOfGroup() },
        { name: 'minIdleMs', label: 'Only if idle for at least (ms)', type: 'number', value: '0', min: 0 },
      ],
    });
    if (answer === null || !answer.consumer) return;
    const result = await context.act({
      action: 'claim',
      stream,
      title: 'Claim',
      confirmLabel: 'Claim',
      run: async () => {
        const answers = await perLane<{ claimed: string[] }>('claim', ids, {
          consumer: answer.consumer,
          minIdleMs: Number(answer.minIdleMs) || 0,
        });
        return { claimed: answers.flatMap((a) => a.claimed) };
      },
      done: (r) =>
        `Claimed ${count(r.claimed.length)} of ${count(ids.length)} entries to ${answer.consumer}.`,
    });
    if (result) await after();
  };

  const remove = async (ids: string[]) => {
    const result = await context.act({
      action: 'delete-pending',
      stream,
      title: ids.length === 1 ? `Delete ${ids[0]}` : `Delete ${ids.length} entries`,
      message: 'The entries are acknowledged and deleted from the stream; no consumer will process them.',
      confirmLabel: 'Delete',
      danger: true,
      ask: true,
      run: async (confirm) => {
        const answers = await perLane<{ deleted: number }>('delete', ids, { confirm });
        return { deleted: answers.reduce((sum, answer) => sum + answer.deleted, 0) };
      },
      done: (r) => `Deleted ${count(r.deleted)} entries.`,
    });
    if (result) await after();
  };

  const sweep = async () => {
    const answer = await openDialog({
      title: 'Sweep idle entries (XAUTOCLAIM)',
      message: `Moves entries of group ${group} idle for at least the given time to one consumer, every lane, highest first.`,
      confirmLabel: 'Continue',
      fields: [
        { name: 'consumer', label: 'To consumer', suggestions: consumersOfGroup() },
        { name: 'minIdleMs', label: 'Idle for at least (ms)', type: 'number', value: '60000', min: 0 },
        { name: 'count', label: 'At most (entries)', type: 'number', value: '100', min: 1, max: 1000 },
      ],
    });
    if (answer === null || !answer.consumer) return;
    const result = await context.act({
      action: 'autoclaim',
      stream,
      title: 'Sweep idle entries',
      message: `Up to ${answer.count} entries idle for ${answer.minIdleMs} ms go to ${answer.consumer}.`,
      confirmLabel: 'Sweep',
      run: (confirm) =>
        context.api.post<AutoclaimReport>(`${path()}/autoclaim`, {
          consumer: answer.consumer,
          minIdleMs: Number(answer.minIdleMs),
          count: Number(answer.count),
          confirm,
        }),
      done: (r) =>
        `Swept ${count(r.claimed)} entries to ${answer.consumer}` +
        (r.deleted.length > 0 ? `; ${count(r.deleted.length)} were already trimmed from the stream.` : '.'),
    });
    if (result) await after();
  };

  groupSelect.addEventListener('change', () => {
    group = groupSelect.value;
    consumer = '';
    renderFilters();
    selection.showFirst();
  });
  consumerSelect.addEventListener('change', () => {
    consumer = consumerSelect.value;
    selection.showFirst();
  });
  laneSelect.addEventListener('change', () => {
    lane = laneSelect.value;
    selection.showFirst();
  });

  const renderFilters = () => {
    const groups = detail?.groups.map((g) => g.name) ?? [];
    patch(
      groupSelect,
      groups.map((name) => h('option', { value: name, selected: name === group }, name)),
    );
    patch(
      consumerSelect,
      h('option', { value: '', selected: consumer === '' }, 'All consumers'),
      consumersOfGroup().map((name) => h('option', { value: name, selected: name === consumer }, name)),
    );
  };

  return {
    element,
    update(next) {
      detail = next;
      if (!next.groups.some((g) => g.name === group)) {
        group = next.groups[0]?.name ?? '';
        consumer = '';
        selection.rewind();
      }
      renderFilters();
      void refresh();
    },
    refresh,
  };
}
