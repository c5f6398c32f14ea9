// Locks: every lock, semaphore, read-write lock and leader lease the console finds (by SCAN), with
// its fencing token and time left. The first page follows the push channel; further pages are
// read on request and hold still until the user goes back to live.

import { describeError } from './api.js';
import { LineChart, SampleHistory } from './chart.js';
import type { ConsoleContext, View } from './context.js';
import { count, duration, h, loading, patch, table, viewSection } from './dom.js';
import type { LockInfo, LocksBody } from './types.js';

const PAGE = 200;

export function locksView(context: ConsoleContext): View {
  const history = new SampleHistory();
  const chart = new LineChart({ title: 'Held, by kind', format: (v) => count(v), integer: true });
  const summary = h('p', { class: 'summary' });
  const list = loading('Loading locks…');
  const pager = h('p', { class: 'pager' });
  const element = viewSection('Locks', summary, chart.element, list, pager);
  let locks: LockInfo[] = [];
  let cursor: string | null = null;
  let browsing = false;

  const render = () => {
    list.removeAttribute('aria-busy');
    patch(
      summary,
      `${count(locks.length)} held${cursor !== null ? ' (more not shown yet)' : ''}`,
      browsing ? ' · paged view, not live' : '',
    );
    patch(
      list,
      table(
        'Locks',
        [
          'Kind',
          'Resource',
          { label: 'Fencing token', numeric: true },
          { label: 'Time left', numeric: true },
          { label: 'Holders', numeric: true },
          { label: 'Waiters', numeric: true },
        ],
        locks.map((lock) =>
          h(
            'tr',
            { 'data-resource': lock.resource },
            h('td', null, h('span', { class: `badge kind-${lock.kind}` }, lock.kind)),
            h('th', { scope: 'row', class: 'id' }, lock.resource),
            h('td', { class: 'num id' }, lock.fencingToken === null ? '—' : String(lock.fencingToken)),
            h('td', { class: 'num' }, duration(lock.remainingMs)),
            h(
              'td',
              { class: 'num' },
              count(lock.holders),
              lock.holder ? h('div', { class: 'muted' }, lock.holder) : null,
            ),
            h('td', { class: 'num' }, count(lock.waiters)),
          ),
        ),
        { empty: 'No lock is held right now.', captionHidden: true },
      ),
    );
    patch(
      pager,
      cursor !== null
        ? h('button', { type: 'button', 'data-key': 'more', onclick: () => void more() }, 'Load more')
        : null,
      browsing
        ? h(
            'button',
            { type: 'button', 'data-key': 'live', onclick: () => void backToLive() },
            'Back to live',
          )
        : null,
    );
    context.firstRender();
  };

  const take = (body: LocksBody) => {
    locks = body.locks;
    cursor = body.cursor;
    const byKind: Record<string, number> = { lock: 0, semaphore: 0, rwlock: 0, leader: 0 };
    for (const lock of body.locks) byKind[lock.kind] = (byKind[lock.kind] ?? 0) + 1;
    history.push(Date.now(), byKind);
    chart.update(history.at, history.series());
    render();
  };

  const load = async () => {
    if (browsing) return;
    try {
      take(await context.api.get<LocksBody>('locks', { limit: PAGE }));
    } catch (error) {
      patch(list, h('p', { class: 'error' }, `Could not load locks: ${describeError(error)}`));
    }
  };

  const more = async () => {
    try {
      const body = await context.api.get<LocksBody>('locks', { cursor, limit: PAGE });
      browsing = true;
      locks = [...locks, ...body.locks];
      cursor = body.cursor;
      render();
    } catch (error) {
      context.notify(`Could not load more locks: ${describeError(error)}`, 'error');
    }
  };

  const backToLive = async () => {
    browsing = false;
    await load();
  };

  const stop = context.live.subscribe(
    'locks',
    (data) => {
      if (!browsing) take(data as LocksBody);
    },
    load,
  );
  void load();
  return {
    element,
    destroy() {
      stop();
      chart.destroy();
    },
  };
}
