// Dead letters: the entries handlers gave up on, with the error that killed them and the priority
// lane they failed on. Replay puts the original fields back on that lane of the stream; delete drops
// them; bulk actions are bounded and report back.

import { ApiError, describeError } from './api.js';
import type { ConsoleContext, View } from './context.js';
import {
  count,
  dateTime,
  fieldsBlock,
  h,
  loading,
  patch,
  plural,
  route,
  table,
  viewSection,
  when,
  type Child,
} from './dom.js';
import { EntrySelection, rowButton } from './entry-selection.js';
import { laneBadge } from './lanes.js';
import type { DeadLetterEntry, DeadLetterPage, ReplayReport, StreamsBody } from './types.js';

const PAGE_SIZE = 50;

/** `#/dead-letters`: which streams have dead letters. */
export function deadLetterOverview(context: ConsoleContext): View {
  const body = loading();
  const element = viewSection(
    'Dead letters',
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
  const selection = new EntrySelection({
    operate,
    refresh: () => refresh(),
    actions: [
      canReplay ? { label: 'Replay selected', run: (ids) => void replay(ids) } : null,
      canDelete ? { label: 'Delete selected…', danger: true, run: (ids) => void remove(ids) } : null,
    ],
  });
  const list = loading('Loading dead letters…');
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
    operate ? selection.bar : null,
    list,
    selection.pager,
  );

  let page: DeadLetterPage | undefined;

  const refresh = async () => {
    try {
      page = await context.api.get<DeadLetterPage>(base, {
        after: selection.after,
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
    selection.keepOnly(page.entries);
    render();
  };

  const render = () => {
    if (page === undefined) return;
    list.removeAttribute('aria-busy');
    patch(summary, `${plural(page.length, 'dead letter')} in this stream.`);
    const headers = selection.headers([
      'Id',
      'Original id',
      'Lane',
      'Group / consumer',
      'Error',
      { label: 'Deliveries', numeric: true },
      'Failed at',
      'Fields',
    ]);
    patch(
      list,
      table('Dead letters', headers, page.entries.map(row), {
        empty: 'No dead letters: every entry was handled.',
        captionHidden: true,
      }),
    );
    selection.renderPager(page.next);
    selection.renderBar();
    context.firstRender();
  };

  const row = (entry: DeadLetterEntry) =>
    h(
      'tr',
      { 'data-id': entry.id, 'data-original-id': entry.originalId, 'data-priority': entry.priority },
      selection.checkboxCell(entry.id),
      h('th', { scope: 'row', class: 'id' }, entry.id),
      h('td', { class: 'id' }, entry.originalId),
      h('td', { 'data-col': 'lane' }, laneBadge(entry.priority)),
      h('td', null, entry.group, h('div', { class: 'muted' }, entry.consumer)),
      h('td', { class: 'error-text' }, entry.error),
      h('td', { class: 'num' }, count(entry.deliveries)),
      h('td', { title: dateTime(entry.failedAt) }, when(entry.failedAt)),
      h('td', null, fieldsBlock(entry.fields, entry.truncated)),
      selection.actionsCell(
        canReplay ? rowButton('Replay', 'replay', entry.id, () => void replay([entry.id])) : null,
        canDelete ? rowButton('Delete…', 'del', entry.id, () => void remove([entry.id]), true) : null,
      ),
    );

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
              h('summary', null, 'Replayed (dead letter → new stream id, on its lane)'),
              h(
                'ul',
                { class: 'id-list' },
                result.replayed.map((r) => h('li', null, `${r.id} → ${r.newId} (${r.priority})`)),
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
      selection.selected.clear();
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
      selection.selected.clear();
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
      message:
        'The oldest dead letters first; each goes back on the stream as a new entry, on the lane it failed on.',
      confirmLabel: 'Replay',
      ask: true,
      run: (confirm) => context.api.post<ReplayReport>(`${base}/replay`, { all: { limit: n }, confirm }),
      done: (r) => `Replayed ${count(r.replayed.length)} dead letters; ${count(r.remaining)} remain.`,
    });
    if (result) {
      replayReport(result);
      selection.showFirst();
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
      selection.showFirst();
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
