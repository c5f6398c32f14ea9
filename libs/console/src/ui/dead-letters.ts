// Dead letters: the entries handlers gave up on, with the error that killed them. Replay puts the
// original fields back on the stream; delete drops them; bulk actions are bounded and report back.

import { ApiError, describeError } from './api.js';
import type { ConsoleContext, View } from './context.js';
import {
  count,
  dateTime,
  fieldsBlock,
  h,
  patch,
  plural,
  route,
  table,
  when,
  type Child,
  type Header,
} from './dom.js';
import type { DeadLetter, DeadLetterPage, ReplayReport, StreamsBody } from './types.js';

const PAGE_SIZE = 50;

/** `#/dead-letters`: which streams have dead letters. */
export function deadLetterOverview(context: ConsoleContext): View {
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'view-title' },
    h('h2', { id: 'view-title', tabindex: -1 }, 'Dead letters'),
    h('p', { class: 'muted' }, 'Entries a consumer group gave up on after their last delivery, per stream.'),
    body,
  );
  const render = (data: StreamsBody) => {
    body.removeAttribute('aria-busy');
    const streams = [...data.streams].sort(
      (a, b) => b.deadLetterLength - a.deadLetterLength || a.name.localeCompare(b.name),
    );
    patch(
      body,
      table(
        'Dead letters per stream',
        ['Stream', { label: 'Dead letters', numeric: true }, { label: 'Stream length', numeric: true }],
        streams.map((stream) =>
          h(
            'tr',
            { 'data-stream': stream.name },
            h(
              'th',
              { scope: 'row' },
              h('a', { href: route('dead-letters', stream.name), 'data-key': stream.name }, stream.name),
            ),
            h(
              'td',
              { class: stream.deadLetterLength ? 'num bad' : 'num', 'data-col': 'dead' },
              count(stream.deadLetterLength),
            ),
            h('td', { class: 'num' }, count(stream.length)),
          ),
        ),
        { empty: 'No streams found.', captionHidden: true },
      ),
    );
    context.firstRender();
  };
  const load = async () => {
    try {
      render(await context.api.get<StreamsBody>('streams'));
    } catch (error) {
      patch(body, h('p', { class: 'error' }, `Could not load streams: ${describeError(error)}`));
    }
  };
  const stop = context.live.subscribe('streams', (data) => render(data as StreamsBody), load);
  void load();
  return { element, destroy: stop };
}

/** `#/dead-letters/<stream>`: the dead letters of one stream. */
export function deadLettersView(context: ConsoleContext, params: string[]): View {
  const stream = params[0] ?? '';
  const base = `streams/${encodeURIComponent(stream)}/dead-letters`;
  const canReplay = context.can('replay', stream);
  const canDelete = context.can('delete-dead-letter', stream);
  const operate = canReplay || canDelete;
  const summary = h('p', { class: 'summary' });
  const selectionBar = h('div', { class: 'toolbar actions-bar' });
  const list = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading dead letters…'));
  const pager = h('p', { class: 'pager' });
  const report = h('section', { class: 'panel report', 'aria-labelledby': 'report-title', hidden: true });
  const bulkLimit = h('input', {
    id: 'bulk-limit',
    type: 'number',
    min: 1,
    max: 1000,
    value: 100,
    required: true,
  });
  const bulk = operate
    ? h(
        'form',
        { class: 'toolbar bulk', 'aria-label': 'Bulk actions' },
        h('label', { for: 'bulk-limit' }, 'Bulk, at most '),
        bulkLimit,
        ' entries: ',
        canReplay ? h('button', { type: 'button', onclick: () => void replayAll() }, 'Replay all…') : null,
        canDelete
          ? h('button', { type: 'button', class: 'danger', onclick: () => void deleteAll() }, 'Delete all…')
          : null,
      )
    : null;
  bulk?.addEventListener('submit', (event) => event.preventDefault());
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'view-title' },
    h('p', { class: 'crumbs' }, h('a', { href: route('dead-letters') }, 'Dead letters'), ' / '),
    h('h2', { id: 'view-title', tabindex: -1 }, `${stream}: dead letters`),
    h('p', null, h('a', { href: route('streams', stream) }, 'Open the stream')),
    summary,
    bulk,
    report,
    operate ? selectionBar : null,
    list,
    pager,
  );

  let cursors: (string | null)[] = [null];
  let page: DeadLetterPage | undefined;
  const selected = new Set<string>();

  const refresh = async () => {
    try {
      page = await context.api.get<DeadLetterPage>(base, {
        after: cursors[cursors.length - 1],
        limit: PAGE_SIZE,
      });
    } catch (error) {
      const message =
        error instanceof ApiError && error.status === 404
          ? 'This stream does not exist, or the console is configured to hide it.'
          : `Could not load dead letters: ${describeError(error)}`;
      patch(list, h('p', { class: 'error' }, message));
      return;
    }
    for (const id of [...selected]) if (!page.entries.some((e) => e.id === id)) selected.delete(id);
    render();
  };

  const go = (next: (string | null)[]) => {
    cursors = next;
    selected.clear();
    void refresh();
  };

  const render = () => {
    if (page === undefined) return;
    list.removeAttribute('aria-busy');
    patch(summary, `${plural(page.length, 'dead letter')} in this stream.`);
    const headers: Header[] = [
      'Id',
      'Original id',
      'Group / consumer',
      'Error',
      { label: 'Deliveries', numeric: true },
      'Failed at',
      'Fields',
    ];
    if (operate) headers.unshift({ label: 'Select', hidden: true });
    if (operate) headers.push('Actions');
    patch(
      list,
      table('Dead letters', headers, page.entries.map(row), {
        empty: 'No dead letters: every entry was handled.',
        captionHidden: true,
      }),
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
    context.firstRender();
  };

  const row = (entry: DeadLetter) => {
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
      { 'data-id': entry.id, 'data-original-id': entry.originalId },
      checkbox ? h('td', null, checkbox) : null,
      h('th', { scope: 'row', class: 'id' }, entry.id),
      h('td', { class: 'id' }, entry.originalId),
      h('td', null, entry.group, h('div', { class: 'muted' }, entry.consumer)),
      h('td', { class: 'error-text' }, entry.error),
      h('td', { class: 'num' }, count(entry.deliveries)),
      h('td', { title: dateTime(entry.failedAt) }, when(entry.failedAt)),
      h('td', null, fieldsBlock(entry.fields, entry.truncated)),
      operate
        ? h(
            'td',
            { class: 'row-actions' },
            canReplay
              ? h(
                  'button',
                  {
                    type: 'button',
                    'data-key': `replay:${entry.id}`,
                    onclick: () => void replay([entry.id]),
                  },
                  'Replay',
                  h('span', { class: 'visually-hidden' }, ` ${entry.id}`),
                )
              : null,
            canDelete
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
    patch(
      selectionBar,
      h('span', { class: 'muted' }, `${ids.length} selected `),
      canReplay
        ? h(
            'button',
            { type: 'button', disabled: ids.length === 0, onclick: () => void replay(ids) },
            'Replay selected',
          )
        : null,
      canDelete
        ? h(
            'button',
            { type: 'button', class: 'danger', disabled: ids.length === 0, onclick: () => void remove(ids) },
            'Delete selected…',
          )
        : null,
    );
  };

  const showReport = (title: string, lines: Child[], remaining: number) => {
    report.hidden = false;
    patch(
      report,
      h('h3', { id: 'report-title' }, title),
      lines,
      h('p', null, `${plural(remaining, 'dead letter')} remaining.`),
    );
  };

  const replayReport = (result: ReplayReport) => {
    showReport(
      'Replay report',
      [
        h('p', null, `${count(result.replayed.length)} replayed, ${count(result.failed.length)} failed.`),
        result.replayed.length
          ? h(
              'details',
              null,
              h('summary', null, 'Replayed (dead letter → new stream id)'),
              h(
                'ul',
                { class: 'id-list' },
                result.replayed.map((r) => h('li', null, `${r.id} → ${r.newId}`)),
              ),
            )
          : null,
        result.failed.length
          ? h(
              'ul',
              { class: 'id-list bad' },
              result.failed.map((f) => h('li', null, `${f.id}: ${f.reason}`)),
            )
          : null,
      ],
      result.remaining,
    );
  };

  const replay = async (ids: string[]) => {
    const result = await context.act({
      action: 'replay',
      stream,
      title: 'Replay',
      confirmLabel: 'Replay',
      run: () => context.api.post<ReplayReport>(`${base}/replay`, { ids }),
      done: (r) => `Replayed ${count(r.replayed.length)} of ${count(ids.length)} dead letters.`,
    });
    if (result) {
      replayReport(result);
      selected.clear();
      await refresh();
    }
  };

  const remove = async (ids: string[]) => {
    const result = await context.act({
      action: 'delete-dead-letter',
      stream,
      title: ids.length === 1 ? `Delete dead letter ${ids[0]}` : `Delete ${ids.length} dead letters`,
      message: 'Deleted dead letters cannot be replayed.',
      confirmLabel: 'Delete',
      danger: true,
      ask: true,
      run: (confirm) =>
        context.api.post<{ deleted: number; remaining: number }>(`${base}/delete`, { ids, confirm }),
      done: (r) => `Deleted ${count(r.deleted)} dead letters.`,
    });
    if (result) {
      showReport('Delete report', [h('p', null, `${count(result.deleted)} deleted.`)], result.remaining);
      selected.clear();
      await refresh();
    }
  };

  const limit = () => {
    if (!bulkLimit.reportValidity()) return undefined;
    return Number(bulkLimit.value);
  };

  const replayAll = async () => {
    const n = limit();
    if (n === undefined) return;
    const result = await context.act({
      action: 'replay-all',
      stream,
      title: `Replay up to ${n} dead letters`,
      message: 'The oldest dead letters first; each goes back on the stream as a new entry.',
      confirmLabel: 'Replay',
      ask: true,
      run: (confirm) => context.api.post<ReplayReport>(`${base}/replay`, { all: { limit: n }, confirm }),
      done: (r) => `Replayed ${count(r.replayed.length)} dead letters; ${count(r.remaining)} remain.`,
    });
    if (result) {
      replayReport(result);
      go([null]);
    }
  };

  const deleteAll = async () => {
    const n = limit();
    if (n === undefined) return;
    const result = await context.act({
      action: 'delete-dead-letter',
      stream,
      title: `Delete up to ${n} dead letters`,
      message: 'The oldest dead letters first. Deleted dead letters cannot be replayed.',
      confirmLabel: 'Delete',
      danger: true,
      ask: true,
      run: (confirm) =>
        context.api.post<{ deleted: number; remaining: number }>(`${base}/delete`, {
          all: { limit: n },
          confirm,
        }),
      done: (r) => `Deleted ${count(r.deleted)} dead letters; ${count(r.remaining)} remain.`,
    });
    if (result) {
      showReport('Delete report', [h('p', null, `${count(result.deleted)} deleted.`)], result.remaining);
      go([null]);
    }
  };

  // Re-read the page when the stream's dead-letter count changes.
  let known: number | undefined;
  const stop = context.live.subscribe(
    'streams',
    (data) => {
      const length = (data as StreamsBody).streams.find((s) => s.name === stream)?.deadLetterLength;
      if (length === undefined || length === known) return;
      known = length;
      void refresh();
    },
    refresh,
  );
  void refresh();
  return { element, destroy: stop };
}
