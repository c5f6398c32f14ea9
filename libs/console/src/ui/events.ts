// Event bus live tail: the newest events first, as they are pushed (batched by the server at most
// every 250 ms and capped per second; what the cap dropped is counted, not hidden).

import { describeError } from './api.js';
import type { ConsoleContext, View } from './context.js';
import { clock, count, h, patch, viewSection } from './dom.js';
import type { ConsoleEvent, EventBatch, EventsBody } from './types.js';

const KEEP = 300;

export function eventsView(context: ConsoleContext): View {
  const filter = h('input', { id: 'events-filter', type: 'search', placeholder: 'type contains…' });
  const pause = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause');
  const clear = h('button', { type: 'button' }, 'Clear');
  const status = h('p', { class: 'summary' });
  const list = h('ol', { class: 'tail', 'aria-label': 'Events, newest first', 'aria-live': 'off' });
  const element = viewSection(
    'Event bus: live tail',
    h('p', { class: 'toolbar' }, h('label', { for: 'events-filter' }, 'Filter '), filter, pause, clear),
    status,
    list,
  );

  const seen = new Set<string>();
  const held: ConsoleEvent[] = [];
  let dropped = 0;
  let shown = 0;
  let paused = false;

  const keyOf = (event: ConsoleEvent) =>
    `${event.at}|${event.type}|${event.source}|${JSON.stringify(event.payload)}`;
  const matches = (event: ConsoleEvent) => {
    const needle = filter.value.trim().toLowerCase();
    return needle === '' || event.type.toLowerCase().includes(needle);
  };
  const item = (event: ConsoleEvent) =>
    h(
      'li',
      { 'data-type': event.type, hidden: !matches(event) },
      h('time', { datetime: new Date(event.at).toISOString() }, clock(event.at)),
      h('span', { class: 'event-type' }, event.type),
      h('span', { class: 'muted' }, event.source),
      h(
        'code',
        { class: 'payload' },
        JSON.stringify(event.payload) ?? 'null',
        event.truncated ? h('span', { class: 'muted' }, ' … truncated') : null,
      ),
    );

  const showStatus = () =>
    patch(
      status,
      `${count(shown)} events shown`,
      paused ? ` · paused, ${count(held.length)} waiting` : '',
      dropped > 0 ? ` · ${count(dropped)} not sent by the server (over its per-second cap)` : '',
    );

  /** Adds events (oldest first) at the top of the list, skipping ones already shown. */
  const add = (events: ConsoleEvent[]) => {
    const fresh = events.filter((event) => {
      const key = keyOf(event);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (fresh.length === 0) return;
    if (paused) {
      held.push(...fresh);
      showStatus();
      return;
    }
    const fragment = document.createDocumentFragment();
    for (let i = fresh.length - 1; i >= 0; i--) fragment.append(item(fresh[i] as ConsoleEvent));
    list.prepend(fragment);
    shown += fresh.length;
    while (list.childElementCount > KEEP) list.lastElementChild?.remove();
    shown = Math.min(shown, KEEP);
    if (seen.size > KEEP * 4) {
      const keep = [...seen].slice(-KEEP * 2);
      seen.clear();
      for (const key of keep) seen.add(key);
    }
    showStatus();
  };

  const load = async () => {
    try {
      const body = await context.api.get<EventsBody>('events', { limit: 100 });
      add([...body.events].sort((a, b) => a.at - b.at));
      showStatus();
      context.firstRender();
    } catch (error) {
      patch(status, h('span', { class: 'error' }, `Could not load events: ${describeError(error)}`));
    }
  };

  filter.addEventListener('input', () => {
    for (const li of list.children) {
      const type = (li as HTMLElement).dataset.type ?? '';
      (li as HTMLElement).hidden = !type.toLowerCase().includes(filter.value.trim().toLowerCase());
    }
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      const waiting = held.splice(0);
      for (const event of waiting) seen.delete(keyOf(event));
      add(waiting);
    }
    showStatus();
  });
  clear.addEventListener('click', () => {
    list.replaceChildren();
    shown = 0;
    showStatus();
  });

  const stop = context.live.subscribe(
    'events',
    (data) => {
      const batch = data as EventBatch;
      dropped += batch.dropped;
      add(batch.events);
    },
    load,
  );
  void load();
  return { element, destroy: stop };
}
