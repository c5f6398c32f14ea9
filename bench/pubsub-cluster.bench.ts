// Sharded vs classic pub/sub on a 3-master Redis Cluster: what each costs the cluster's nodes, and
// how fast events go. Run it with `npm run bench -- pubsub-cluster` (BENCH_SECONDS=1 for a quick run).
//
// The runner's standalone server is not used: this module starts its own 3-master cluster (the test
// harness's RedisClusterServers: real redis-server processes, `redis-cli --cluster create`, no
// replicas) and stops it at the end. Every subject runs on the same cluster, one after the other.
//
// - pubsub-cluster  one operation = publish one event, of 8 types in turn (`bench.t0` .. `bench.t7`),
//                   and wait until the subscriber (its own connection(s), same process) received it:
//                   msgs/s and publish→receive p50/p99 under 64 in flight.
// - cache-set       one operation = CacheService.set of one of 1,000 keys in 3 namespaces in turn, on
//                   one of two cache instances (the other listens for invalidations): what the
//                   invalidations (batched per event-loop turn into one message) cost each master,
//                   sharded (SPUBLISH on the cache's shard channel) or classic (PUBLISH).
//
// Subjects: redkit's EventBus on the cluster with sharded pub/sub (the default: SPUBLISH on 16 bucket
// shard channels, SSUBSCRIBE of every bucket for the `bench.*` pattern) and with `shardedPubSub: false`
// (PUBLISH on the type channel, PSUBSCRIBE `bench.*`); the limits are raw ioredis Cluster clients doing
// the same with the same JSON payload: PUBLISH + PSUBSCRIBE (ioredis's cluster subscriber), and
// SPUBLISH + SSUBSCRIBE of the 8 type channels (ioredis's `shardedSubscribers: true`), each on plain
// and auto-pipelined clients (bench/README.md).
//
// Per-node load: around the measured window, each master's INFO commandstats (PUBLISH, SPUBLISH),
// CLUSTER INFO (cluster-bus messages: `cluster_stats_messages_publish_*` carry classic PUBLISHes to
// every other node, `..._publishshard_*` carry SPUBLISHes to the shard's replicas) and INFO stats
// (`total_net_input_bytes` / `total_net_output_bytes`, client connections), per 1,000 events.
import 'reflect-metadata';

import { Logger } from '@nestjs/common';
import { CacheService } from '@redkit/cache';
import { EventBus } from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import { RedisConnection } from '@redkit/redis';
import { Cluster, Redis } from 'ioredis';

import { RedisClusterServers } from '../test/harness/redis-cluster.js';
import { removeRunDirectory, runDirectory } from '../test/harness/run-directory.js';
import { DEFAULT_IN_FLIGHT, defaultSeconds, defaultWarmupSeconds, measure } from './lib/measure.js';
import { markdownTable, writeResults, type Kind, type ResultRow } from './lib/report.js';
import { clientOptions, type ClientMode } from './lib/suite.js';

const MODULE = 'pubsub-cluster';
const NAMESPACES = ['default', 'books', 'orders'] as const;
const TYPES = Array.from({ length: 8 }, (_, index) => `bench.t${index}`);
const PAYLOAD = { orderId: 'ord_01HZX4T9K2M8Q7W3E5R6Y1U0PA', symbol: 'BTC-USD', price: '64250.50' };

interface Subject {
  /** Resolves once the event `seq` reached the subscriber. */
  roundTrip(seq: number): Promise<void>;
  close(): Promise<void>;
}

interface SubjectDefinition {
  scenario: 'pubsub-cluster' | 'cache-set';
  name: string;
  kind: Kind;
  family?: string;
  client?: ClientMode;
  create(nodes: Array<{ host: string; port: number }>): Promise<Subject>;
}

/** Promises by sequence number, settled from the subscribing side. */
class Waiters {
  private readonly pending = new Map<number, () => void>();

  wait(seq: number): Promise<void> {
    return new Promise((resolve) => this.pending.set(seq, resolve));
  }

  settle(seq: number): void {
    const resolve = this.pending.get(seq);
    if (resolve === undefined) return;
    this.pending.delete(seq);
    resolve();
  }
}

function redkit(shardedPubSub: boolean): SubjectDefinition['create'] {
  return async (nodes) => {
    const connection = await RedisConnection.open('bench', { cluster: { nodes }, keyPrefix: 'bench' });
    const bus = new EventBus(connection, { source: 'bench', shardedPubSub });
    const events = new Waiters();
    await bus.subscribe<{ seq: number }>('bench.*', (event) => events.settle(event.data.seq));
    return {
      roundTrip: async (seq) => {
        const received = events.wait(seq);
        await bus.publish(TYPES[seq % TYPES.length] as string, { seq, ...PAYLOAD });
        await received;
      },
      close: async () => {
        await bus.close();
        await connection.close();
      },
    };
  };
}

function cacheInstances(shardedPubSub: boolean): SubjectDefinition['create'] {
  return async (nodes) => {
    const options = { ttlMs: 60_000, shardedPubSub, namespaces: { books: {}, orders: {} } };
    const open = async () => {
      const connection = await RedisConnection.open('bench', { cluster: { nodes }, keyPrefix: 'bench' });
      const cache = new CacheService(connection, options, new MetricsService());
      await cache.onModuleInit();
      return { connection, cache };
    };
    const [writer, listener] = await Promise.all([open(), open()]);
    return {
      roundTrip: async (seq) => {
        await writer.cache.set(`k${seq % 1_000}`, { seq, ...PAYLOAD }, { namespace: NAMESPACES[seq % 3] });
      },
      close: async () => {
        for (const { cache, connection } of [writer, listener]) {
          await cache.onApplicationShutdown();
          await connection.close();
        }
      },
    };
  };
}

function rawClassic(mode: ClientMode): SubjectDefinition['create'] {
  return async (nodes) => {
    const publisher = new Cluster(nodes, clientOptions(mode));
    const subscriber = new Cluster(nodes, clientOptions(mode));
    const events = new Waiters();
    subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      events.settle((JSON.parse(message) as { seq: number }).seq);
    });
    await subscriber.psubscribe('bench.*');
    return {
      roundTrip: async (seq) => {
        const received = events.wait(seq);
        await publisher.publish(TYPES[seq % TYPES.length] as string, JSON.stringify({ seq, ...PAYLOAD }));
        await received;
      },
      close: async () => {
        await subscriber.quit();
        await publisher.quit();
      },
    };
  };
}

function rawSharded(mode: ClientMode): SubjectDefinition['create'] {
  return async (nodes) => {
    const publisher = new Cluster(nodes, clientOptions(mode));
    const subscriber = new Cluster(nodes, { ...clientOptions(mode), shardedSubscribers: true });
    const events = new Waiters();
    subscriber.on('smessage', (_channel: string, message: string) => {
      events.settle((JSON.parse(message) as { seq: number }).seq);
    });
    await subscriber.connect().catch(() => undefined);
    // One SSUBSCRIBE per channel: channels of different slots in one command are refused (CROSSSLOT).
    for (const type of TYPES) await subscriber.ssubscribe(type);
    return {
      roundTrip: async (seq) => {
        const received = events.wait(seq);
        await publisher.spublish(TYPES[seq % TYPES.length] as string, JSON.stringify({ seq, ...PAYLOAD }));
        await received;
      },
      close: async () => {
        await subscriber.quit();
        await publisher.quit();
      },
    };
  };
}

function atTheirBest(
  name: string,
  create: (mode: ClientMode) => SubjectDefinition['create'],
): SubjectDefinition[] {
  return (['plain', 'auto-pipelined'] as const).map((client) => ({
    scenario: 'pubsub-cluster',
    name: `${name} [${client === 'plain' ? 'plain' : 'auto-pipe'}]`,
    kind: 'limit',
    family: name,
    client,
    create: create(client),
  }));
}

const SUBJECTS: SubjectDefinition[] = [
  { scenario: 'pubsub-cluster', name: 'redkit-sharded', kind: 'redkit', create: redkit(true) },
  { scenario: 'pubsub-cluster', name: 'redkit-classic', kind: 'redkit', create: redkit(false) },
  ...atTheirBest('raw-ioredis-sharded', rawSharded),
  ...atTheirBest('raw-ioredis-classic', rawClassic),
  { scenario: 'cache-set', name: 'redkit-sharded', kind: 'redkit', create: cacheInstances(true) },
  { scenario: 'cache-set', name: 'redkit-classic', kind: 'redkit', create: cacheInstances(false) },
];

/** What one master counted so far. */
interface NodeCounters {
  publish: number;
  spublish: number;
  busPublishReceived: number;
  busPublishSent: number;
  busShardReceived: number;
  busShardSent: number;
  netInBytes: number;
  netOutBytes: number;
}

function field(text: string, name: string): number {
  return Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

async function countersOf(admin: Redis): Promise<NodeCounters> {
  const [commands, stats, cluster] = await Promise.all([
    admin.info('commandstats'),
    admin.info('stats'),
    admin.call('CLUSTER', 'INFO') as Promise<string>,
  ]);
  const calls = (command: string) =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(commands)?.[1] ?? 0);
  return {
    publish: calls('publish'),
    spublish: calls('spublish'),
    busPublishReceived: field(cluster, 'cluster_stats_messages_publish_received'),
    busPublishSent: field(cluster, 'cluster_stats_messages_publish_sent'),
    busShardReceived: field(cluster, 'cluster_stats_messages_publishshard_received'),
    busShardSent: field(cluster, 'cluster_stats_messages_publishshard_sent'),
    netInBytes: field(stats, 'total_net_input_bytes'),
    netOutBytes: field(stats, 'total_net_output_bytes'),
  };
}

function difference(after: NodeCounters, before: NodeCounters): NodeCounters {
  const result = { ...after };
  for (const key of Object.keys(result) as Array<keyof NodeCounters>) result[key] = after[key] - before[key];
  return result;
}

/** Per 1,000 events, one decimal. */
function per1k(value: number, events: number): number {
  return events > 0 ? Math.round((value / events) * 10_000) / 10 : 0;
}

function progress(message: string): void {
  process.stderr.write(`[bench ${MODULE}] ${message}\n`);
}

async function measureSubject(
  definition: SubjectDefinition,
  cluster: RedisClusterServers,
  admins: Redis[],
): Promise<ResultRow> {
  const subject = await definition.create(cluster.nodes);
  try {
    let before: NodeCounters[] = [];
    const measurement = await measure((seq) => subject.roundTrip(seq), {
      onMeasureStart: async () => {
        before = await Promise.all(admins.map(countersOf));
      },
    });
    const after = await Promise.all(admins.map(countersOf));
    const events = measurement.ops + measurement.errors;
    const perNode = after.map((counters, index) => ({
      node: `${cluster.nodes[index]?.host}:${cluster.nodes[index]?.port}`,
      ...difference(counters, before[index] as NodeCounters),
    }));
    const sum = (pick: (node: NodeCounters) => number) =>
      perNode.reduce((total, node) => total + pick(node), 0);
    const row: ResultRow = {
      scenario: definition.scenario,
      subject: definition.name,
      kind: definition.kind,
      ...(definition.family === undefined ? {} : { family: definition.family, client: definition.client }),
      opsPerSec: measurement.opsPerSec,
      p50us: measurement.p50us,
      p99us: measurement.p99us,
      events,
      // Per 1,000 events, summed over the masters, and per master (in node order).
      publishCmdsPer1k: per1k(
        sum((node) => node.publish + node.spublish),
        events,
      ),
      busMsgsPer1k: per1k(
        sum((node) => node.busPublishReceived + node.busShardReceived),
        events,
      ),
      netKBPer1k: per1k(sum((node) => node.netInBytes + node.netOutBytes) / 1024, events),
      perNode,
    };
    if (measurement.errors > 0) {
      row.errors = measurement.errors;
      row.firstError = String(measurement.firstError);
    }
    progress(
      `${definition.name.padEnd(30)} ${row.opsPerSec.toLocaleString('en-US').padStart(8)} msgs/s  p50 ${row.p50us} µs  p99 ${row.p99us} µs` +
        (measurement.errors > 0 ? `  ${measurement.errors} ERRORS` : ''),
    );
    return row;
  } finally {
    await subject.close();
  }
}

/** The per-node table: each master's share of the work, per 1,000 events. */
function perNodeTable(rows: readonly ResultRow[]): string {
  const header = [
    'scenario',
    'subject',
    'node',
    'PUBLISH+SPUBLISH /1k',
    'bus msgs in /1k',
    'bus msgs out /1k',
    'net in KB /1k',
    'net out KB /1k',
  ];
  const lines: string[][] = [];
  for (const row of rows) {
    const events = row.events as number;
    (row.perNode as Array<NodeCounters & { node: string }>).forEach((node, index) => {
      lines.push([
        index === 0 ? row.scenario : '',
        index === 0 ? row.subject : '',
        `${index + 1} (${node.node})`,
        String(per1k(node.publish + node.spublish, events)),
        String(per1k(node.busPublishReceived + node.busShardReceived, events)),
        String(per1k(node.busPublishSent + node.busShardSent, events)),
        String(per1k(node.netInBytes / 1024, events)),
        String(per1k(node.netOutBytes / 1024, events)),
      ]);
    });
  }
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]!.length)),
  );
  const render = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column < 3 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}

/** Marks the faster of each limit's plain and auto-pipelined rows. */
function markBest(rows: ResultRow[]): void {
  const best = new Map<string, ResultRow>();
  for (const row of rows) {
    if (typeof row.family !== 'string') continue;
    const current = best.get(row.family);
    if (current === undefined || row.opsPerSec > current.opsPerSec) best.set(row.family, row);
  }
  for (const row of best.values()) row.best = '★';
}

// The libs' logs (a connection is ready) go to stderr with the progress: stdout keeps just the tables.
const toStderr = (level: string) => (message: unknown) =>
  void process.stderr.write(`[${level}] ${String(message)}\n`);
Logger.overrideLogger({ log: toStderr('log'), warn: toStderr('warn'), error: toStderr('error') });

const cluster = await RedisClusterServers.start();
const admins = cluster.servers.map(
  ({ url }) => new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 }),
);
let failed = false;
try {
  const redisVersion =
    /^redis_version:(\S+)/m.exec(await (admins[0] as Redis).info('server'))?.[1] ?? 'unknown';
  const seconds = defaultSeconds();
  const warmupSeconds = defaultWarmupSeconds();
  progress(
    `redis ${redisVersion}, 3-master cluster at ${cluster.nodes.map(({ port }) => port).join(', ')}; ${warmupSeconds} s warm-up + ${seconds} s per row`,
  );
  const only = process.env.BENCH_SUBJECTS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const subjects = SUBJECTS.filter(
    (subject) =>
      !only?.length ||
      only.includes(subject.name) ||
      (subject.family !== undefined && only.includes(subject.family)),
  );
  const rows: ResultRow[] = [];
  // The first row of a process comes out slow despite its warm-up (bench/README.md): measured twice.
  if (subjects[0] !== undefined) await measureSubject(subjects[0], cluster, admins);
  for (const subject of subjects) {
    try {
      rows.push(await measureSubject(subject, cluster, admins));
    } catch (error) {
      failed = true;
      progress(`${subject.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  markBest(rows);
  const results = {
    module: MODULE,
    date: new Date().toISOString(),
    node: process.version,
    redis: redisVersion,
    inFlight: DEFAULT_IN_FLIGHT,
    topology: '3-master cluster, no replicas',
    rows,
  };
  const columns = [
    { key: 'best', title: 'best' },
    { key: 'publishCmdsPer1k', title: 'publish cmds /1k' },
    { key: 'busMsgsPer1k', title: 'bus msgs /1k' },
    { key: 'netKBPer1k', title: 'net KB /1k' },
  ];
  process.stdout.write(
    [
      `## ${MODULE}`,
      '',
      `node ${results.node}, redis ${redisVersion}, 3-master cluster (no replicas), ${DEFAULT_IN_FLIGHT} in flight, ` +
        `${warmupSeconds} s warm-up + ${seconds} s per row, ${results.date}`,
      '',
      markdownTable(rows, columns),
      '',
      'Per master, per 1,000 operations (events, or sets):',
      '',
      perNodeTable(rows),
      '',
      '- pubsub-cluster: publish one event (8 types in turn) → received by one subscriber of `bench.*`; ops/s = msgs/s.',
      '- cache-set: `CacheService.set` of 1,000 keys in 3 namespaces in turn on one instance, a second listening; ' +
        'per 1,000 sets. Its invalidations go out once per event-loop turn, and its net bytes include the SETs.',
      '- publish cmds: PUBLISH + SPUBLISH the masters ran (INFO commandstats). bus msgs: cluster-bus publish messages ' +
        'received (`cluster_stats_messages_publish_received` + `..._publishshard_received`). net KB: client bytes in + out ' +
        '(`total_net_input_bytes` + `total_net_output_bytes`), summed over the masters.',
      '- raw-ioredis-*: ioredis Cluster clients, same JSON payload; ★ marks the faster of plain and auto-pipelined. ' +
        'redkit keeps its defaults (auto-pipelining on).',
      '',
    ].join('\n'),
  );
  progress(`wrote ${await writeResults(results)}`);
} finally {
  for (const admin of admins) admin.disconnect();
  await cluster.stop();
  await removeRunDirectory(runDirectory());
}
if (failed) process.exitCode = 1;
