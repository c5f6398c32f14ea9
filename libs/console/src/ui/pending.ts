// Pending entries of one consumer group: paged by cursor, filtered by consumer, and (in operate
// mode) acknowledged, claimed to another consumer, swept with XAUTOCLAIM or deleted.

import { describeError } from './api.js';
import type { ConsoleContext } from './context.js';
import { openDialog } from './dialog.js';
import { count, duration, fieldsBlock, h, patch, table, type Header } from './dom.js';
import type { ConsoleAction, PendingEntry, PendingPage, StreamDetail } from './types.js';

const PAGE_SIZE = 50;

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
  const selectionBar = h('div', { class: 'toolbar actions-bar' });
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading pending entries…'));
  const pager = h('p', { class: 'pager' });
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
    ),
    operate ? selectionBar : null,
    list,
    pager,
  );

  let detail: StreamDetail | undefined;
  let group = '';
  let consumer = '';
  /** The cursors of the pages before the one shown; the last is the current page's `after`. */
  let cursors: (string | null)[] = [null];
  let page: PendingPage | undefined;
  const selected = new Set<string>();

  const path = () => `streams/${encodeURIComponent(stream)}/groups/${encodeURIComponent(group)}/pending`;
  const consumersOfGroup = () =>
    (detail?.consumers ?? []).filter((c) => c.group === group).map((c) => c.name);

  const refresh = async () => {
    if (group === '') {
      patch(list, h('p', { class: 'muted' }, 'This stream has no consumer group.'));
      patch(pager);
      return;
    }
    try {
      page = await context.api.get<PendingPage>(path(), {
        after: cursors[cursors.length - 1],
        limit: PAGE_SIZE,
        consumer,
      });
    } catch (error) {
      patch(list, h('p', { class: 'error' }, `Could not load pending entries: ${describeError(error)}`));
      return;
    }
    for (const id of [...selected]) if (!page.entries.some((e) => e.id === id)) selected.delete(id);
    render();
  };

  const render = () => {
    if (page === undefined) return;
    const headers: Header[] = [
      'Id',
      'Consumer',
      { label: 'Idle', numeric: true },
      { label: 'Deliveries', numeric: true },
      'Fields',
    ];
    if (operate) headers.unshift({ label: 'Select', hidden: true });
    if (operate) headers.push('Actions');
    patch(
      list,
      table(
        `Pending entries of group ${group}`,
        headers,
        page.entries.map((entry) => entryRow(entry)),
        { empty: 'Nothing pending: every delivered entry was acknowledged.', captionHidden: true },
      ),
    );
    patch(
      pager,
      cursors.length > 1
        ? h('button', { type: 'button', 'data-key': 'first', onclick: () => go([null]) }, '« First page')
        : null,
      cursors.length > 1
        ? h(
            'button',
            { type: 'button', 'data-key': 'prev', onclick: () => go(cursors.slice(0, -1)) },
            '‹ Previous',
          )
        : null,
      page.next !== null
        ? h(
            'button',
            { type: 'button', 'data-key': 'next', onclick: () => page?.next && go([...cursors, page.next]) },
            'Next page ›',
          )
        : null,
    );
    renderSelectionBar();
  };

  const go = (next: (string | null)[]) => {
    cursors = next;
    selected.clear();
    void refresh();
  };

  const entryRow = (entry: PendingEntry) => {
    const checkbox = operate
      ? h('input', {
          type: 'checkbox',
          'aria-label': `Select ${entry.id}`,
          checked: selected.has(entry.id),
          'data-key': `sel:${entry.id}`,
        })
      : null;
    checkbox?.addEventListener('change', () => {
      if (checkbox.checked) selected.add(entry.id);
      else selected.delete(entry.id);
      renderSelectionBar();
    });
    return h(
      'tr',
      { 'data-id': entry.id, 'data-consumer': entry.consumer },
      checkbox ? h('td', null, checkbox) : null,
      h('th', { scope: 'row', class: 'id' }, entry.id),
      h('td', { 'data-col': 'consumer' }, entry.consumer),
      h('td', { class: 'num' }, duration(entry.idleMs)),
      h('td', { class: entry.deliveries > 1 ? 'num warn' : 'num' }, count(entry.deliveries)),
      h('td', null, fieldsBlock(entry.fields, entry.truncated)),
      operate
        ? h(
            'td',
            { class: 'row-actions' },
            can('ack')
              ? h(
                  'button',
                  { type: 'button', 'data-key': `ack:${entry.id}`, onclick: () => void ack([entry.id]) },
                  'Ack',
                  h('span', { class: 'visually-hidden' }, ` ${entry.id}`),
                )
              : null,
            can('claim')
              ? h(
                  'button',
                  { type: 'button', 'data-key': `claim:${entry.id}`, onclick: () => void claim([entry.id]) },
                  'Claim…',
                  h('span', { class: 'visually-hidden' }, ` ${entry.id}`),
                )
              : null,
            can('delete-pending')
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    'data-key': `del:${entry.id}`,
                    onclick: () => void remove([entry.id]),
                  },
                  'Delete…',
                  h('span', { class: 'visually-hidden' }, ` ${entry.id}`),
                )
              : null,
          )
        : null,
    );
  };

  const renderSelectionBar = () => {
    if (!operate) return;
    const ids = [...selected];
    const none = ids.length === 0;
    patch(
      selectionBar,
      h('span', { class: 'muted' }, `${ids.length} selected `),
      can('ack')
        ? h('button', { type: 'button', disabled: none, onclick: () => void ack(ids) }, 'Ack selected')
        : null,
      can('claim')
        ? h('button', { type: 'button', disabled: none, onclick: () => void claim(ids) }, 'Claim selected…')
        : null,
      can('delete-pending')
        ? h(
            'button',
            { type: 'button', class: 'danger', disabled: none, onclick: () => void remove(ids) },
            'Delete selected…',
          )
        : null,
      can('autoclaim')
        ? h('button', { type: 'button', onclick: () => void sweep() }, 'Sweep idle entries (XAUTOCLAIM)…')
        : null,
    );
  };

  const after = async () => {
    selected.clear();
    await refresh();
    onChange();
  };

  const ack = async (ids: string[]) => {
    const result = await context.act({
      action: 'ack',
      stream,
      title: 'Acknowledge',
      confirmLabel: 'Acknowledge',
      run: () => context.api.post<{ acked: number }>(`${path()}/ack`, { ids }),
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
      run: () =>
        context.api.post<{ claimed: string[] }>(`${path()}/claim`, {
          ids,
          consumer: answer.consumer,
          minIdleMs: Number(answer.minIdleMs) || 0,
        }),
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
      run: (confirm) => context.api.post<{ deleted: number }>(`${path()}/delete`, { ids, confirm }),
      done: (r) => `Deleted ${count(r.deleted)} entries.`,
    });
    if (result) await after();
  };

  const sweep = async () => {
    const answer = await openDialog({
      title: 'Sweep idle entries (XAUTOCLAIM)',
      message: `Moves entries of group ${group} idle for at least the given time to one consumer.`,
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
        context.api.post<{ claimed: number; next: string; deleted: string[] }>(`${path()}/autoclaim`, {
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
    go([null]);
  });
  consumerSelect.addEventListener('change', () => {
    consumer = consumerSelect.value;
    go([null]);
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
        cursors = [null];
      }
      renderFilters();
      void refresh();
    },
    refresh,
  };
}
