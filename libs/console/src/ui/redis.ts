// Redis: each node's memory, clients, ops/s, hit ratio, evictions and slowlog, as the server-metrics
// collector samples them, and plainly what this view cannot see.

import { describeError } from './api.js';
import { LineChart, SampleHistory } from './chart.js';
import type { ConsoleContext, View } from './context.js';
import { bytes, count, h, loading, number, patch, percent, table, viewSection } from './dom.js';
import type { RedisBody } from './types.js';

/** What any INFO-based view cannot show, whatever the server collects. */
const GENERAL_NOTES = [
  'Numbers are samples of INFO taken every few seconds by the server-metrics collector: spikes shorter than a sample are averaged away.',
  'No per-key memory, big keys or hot keys: finding them takes SCAN with MEMORY USAGE over the whole keyspace, too heavy to run from a dashboard.',
  'Latency inside Redis is not measured (LATENCY needs latency-monitor-threshold set on the server).',
  'Managed services may rename or refuse INFO fields and SLOWLOG: those cells show —.',
  'On a Cluster, each master is sampled; replicas are not.',
];

export function redisView(context: ConsoleContext): View {
  const ops = new SampleHistory();
  const memory = new SampleHistory();
  const opsChart = new LineChart({ title: 'Operations per second', format: (v) => `${number(v)}/s` });
  const memoryChart = new LineChart({ title: 'Memory used', format: bytes });
  const state = loading();
  const charts = h('div', { class: 'charts' }, opsChart.element, memoryChart.element);
  const notes = h('ul');
  const showNotes = (fromServer: string[]) =>
    patch(
      notes,
      // The server's own notes first: it knows what its collector reads.
      fromServer.map((note) => h('li', null, note)),
      GENERAL_NOTES.map((note) => h('li', null, note)),
    );
  showNotes([]);
  const element = viewSection(
    'Redis',
    charts,
    state,
    h(
      'details',
      { class: 'panel limits-note' },
      h('summary', null, 'What this view cannot see, and why'),
      notes,
    ),
  );

  const render = (body: RedisBody) => {
    state.removeAttribute('aria-busy');
    charts.hidden = !body.available;
    showNotes(body.notes);
    if (!body.available) {
      patch(
        state,
        h(
          'p',
          { class: 'notice-box' },
          h('strong', null, 'Server metrics are off. '),
          body.reason ?? 'The server-metrics collector is not running.',
        ),
      );
      context.firstRender();
      return;
    }
    const now = Date.now();
    ops.push(now, Object.fromEntries(body.nodes.map((node) => [node.node, node.opsPerSecond])));
    memory.push(now, Object.fromEntries(body.nodes.map((node) => [node.node, node.usedMemoryBytes])));
    opsChart.update(ops.at, ops.series());
    memoryChart.update(memory.at, memory.series());
    patch(
      state,
      table(
        'Nodes',
        [
          'Node',
          'State',
          { label: 'Memory used', numeric: true },
          { label: 'maxmemory', numeric: true },
          { label: 'Fragmentation', numeric: true },
          { label: 'Clients', numeric: true },
          { label: 'Blocked', numeric: true },
          { label: 'Ops/s', numeric: true },
          { label: 'Hit ratio', numeric: true },
          { label: 'Evicted keys', numeric: true },
          { label: 'Expired keys', numeric: true },
          { label: 'Slowlog', numeric: true },
        ],
        body.nodes.map((node) =>
          h(
            'tr',
            { 'data-node': node.node },
            h('th', { scope: 'row', class: 'id' }, node.node),
            h(
              'td',
              null,
              node.up ? h('span', { class: 'badge ok' }, 'up') : h('span', { class: 'badge bad' }, 'down'),
            ),
            h('td', { class: 'num' }, bytes(node.usedMemoryBytes)),
            h('td', { class: 'num' }, node.maxmemoryBytes ? bytes(node.maxmemoryBytes) : 'no limit'),
            h('td', { class: 'num' }, number(node.fragmentation)),
            h('td', { class: 'num' }, count(node.clients)),
            h('td', { class: 'num' }, count(node.blockedClients)),
            h('td', { class: 'num' }, number(node.opsPerSecond)),
            h('td', { class: 'num' }, percent(node.hitRatio)),
            h('td', { class: node.evictedKeys ? 'num warn' : 'num' }, count(node.evictedKeys)),
            h('td', { class: 'num' }, count(node.expiredKeys)),
            h('td', { class: 'num' }, count(node.slowlogLength)),
          ),
        ),
        { empty: 'No node sampled yet.', captionHidden: true },
      ),
    );
    context.firstRender();
  };

  const load = async () => {
    try {
      render(await context.api.get<RedisBody>('redis'));
    } catch (error) {
      patch(state, h('p', { class: 'error' }, `Could not load Redis metrics: ${describeError(error)}`));
    }
  };
  const stop = context.live.subscribe('redis', (data) => render(data as RedisBody), load);
  void load();
  return {
    element,
    destroy() {
      stop();
      opsChart.destroy();
      memoryChart.destroy();
    },
  };
}
