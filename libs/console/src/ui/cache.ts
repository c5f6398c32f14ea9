// Cache: hit ratio per namespace (now, and over the time this page has been open), the L1 size,
// and, in operate mode, evicting a key or a tag.

import { describeError } from './api.js';
import { LineChart, SampleHistory } from './chart.js';
import type { ConsoleContext, View } from './context.js';
import { bytes, count, duration, h, loading, patch, percent, table, viewSection } from './dom.js';
import type { CacheBody } from './types.js';

export function cacheView(context: ConsoleContext): View {
  const history = new SampleHistory();
  const chart = new LineChart({ title: 'Hit ratio per namespace', format: (v) => percent(v), minMax: 1 });
  const l1 = h('p', { class: 'summary' });
  const list = loading();
  const namespaces = h('datalist', { id: 'cache-namespaces' });
  const element = viewSection(
    'Cache',
    l1,
    chart.element,
    list,
    context.can('evict') ? evictForm(context, namespaces) : null,
  );

  const render = (body: CacheBody) => {
    list.removeAttribute('aria-busy');
    history.push(
      Date.now(),
      Object.fromEntries(body.namespaces.map((namespace) => [namespace.name, namespace.hitRatio])),
    );
    chart.update(history.at, history.series());
    patch(l1, `L1 in this process: ${count(body.l1.entries)} entries, ${bytes(body.l1.bytes)}.`);
    patch(
      namespaces,
      body.namespaces.map((namespace) => h('option', { value: namespace.name })),
    );
    patch(
      list,
      table(
        'Namespaces',
        [
          'Namespace',
          'Hit ratio',
          { label: 'L1 hits', numeric: true },
          { label: 'L2 hits', numeric: true },
          { label: 'Misses', numeric: true },
          { label: 'Stale served', numeric: true },
          { label: 'Loader p50', numeric: true },
          { label: 'Invalidations sent', numeric: true },
          { label: 'received', numeric: true },
        ],
        body.namespaces.map((namespace) =>
          h(
            'tr',
            { 'data-namespace': namespace.name },
            h('th', { scope: 'row' }, namespace.name),
            h(
              'td',
              { class: 'ratio' },
              h('meter', {
                min: 0,
                max: 1,
                low: 0.5,
                high: 0.8,
                optimum: 1,
                value: namespace.hitRatio ?? 0,
                'aria-hidden': 'true',
              }),
              ` ${percent(namespace.hitRatio)}`,
            ),
            h('td', { class: 'num' }, count(namespace.l1Hits)),
            h('td', { class: 'num' }, count(namespace.l2Hits)),
            h('td', { class: 'num' }, count(namespace.misses)),
            h('td', { class: namespace.staleServed ? 'num warn' : 'num' }, count(namespace.staleServed)),
            h('td', { class: 'num' }, duration(namespace.loaderP50Ms)),
            h('td', { class: 'num' }, count(namespace.invalidationsSent)),
            h('td', { class: 'num' }, count(namespace.invalidationsReceived)),
          ),
        ),
        { empty: 'No cache namespace has been used yet.', captionHidden: true },
      ),
    );
    context.firstRender();
  };

  const load = async () => {
    try {
      render(await context.api.get<CacheBody>('cache'));
    } catch (error) {
      patch(list, h('p', { class: 'error' }, `Could not load the cache: ${describeError(error)}`));
    }
  };
  const stop = context.live.subscribe('cache', (data) => render(data as CacheBody), load);
  void load();
  return {
    element,
    destroy() {
      stop();
      chart.destroy();
    },
  };
}

function evictForm(context: ConsoleContext, namespaces: HTMLDataListElement): HTMLElement {
  const kind = h(
    'select',
    { id: 'evict-kind' },
    h('option', { value: 'key' }, 'Key'),
    h('option', { value: 'tag' }, 'Tag'),
  );
  const value = h('input', { id: 'evict-value', type: 'text', required: true, autocomplete: 'off' });
  const namespace = h('input', {
    id: 'evict-namespace',
    type: 'text',
    list: 'cache-namespaces',
    autocomplete: 'off',
  });
  const form = h(
    'form',
    { class: 'panel evict', 'aria-labelledby': 'evict-title' },
    h('h3', { id: 'evict-title' }, 'Evict'),
    h(
      'p',
      { class: 'toolbar' },
      h('label', { for: 'evict-kind' }, 'Evict by '),
      kind,
      h('label', { for: 'evict-value' }, ' named '),
      value,
      h('label', { for: 'evict-namespace' }, ' in namespace (optional) '),
      namespace,
      namespaces,
      h('button', { type: 'submit', class: 'primary' }, 'Evict'),
    ),
    h(
      'p',
      { class: 'muted' },
      'Removes the entries from Redis and tells every instance to drop its L1 copy.',
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body: Record<string, string> = { [kind.value]: value.value.trim() };
    if (namespace.value.trim()) body.namespace = namespace.value.trim();
    void context.api
      .post('cache/evict', body)
      .then(() => {
        context.notify(`Evicted ${kind.value} ${body[kind.value]}.`);
        value.value = '';
      })
      .catch((error: unknown) => context.notify(`Evict: ${describeError(error)}`, 'error'));
  });
  return form;
}
