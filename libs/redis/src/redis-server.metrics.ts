import { Cluster } from 'ioredis';
import type { MetricsService } from '@redkit/metrics';

import type { RedisClient } from './redis-client.js';
import type { RedisConnection } from './redis-connection.js';

/** `INFO` as `field → value`, every section. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Seconds of replication lag: a replica's silence from its primary, or a primary's slowest replica. */
export function replicationLag(info: Map<string, string>): number | undefined {
  if (info.get('role') === 'slave') {
    const silence = Number(info.get('master_last_io_seconds_ago'));
    return Number.isFinite(silence) && silence >= 0 ? silence : undefined;
  }
  let lag: number | undefined;
  for (const [field, value] of info) {
    if (!/^slave\d+$/.test(field)) continue;
    const replica = Number(/(?:^|,)lag=(\d+)/.exec(value)?.[1]);
    if (Number.isFinite(replica)) lag = Math.max(lag ?? 0, replica);
  }
  return lag ?? (info.get('role') === 'master' ? 0 : undefined);
}

/** The gauges, their help, and how each is read from INFO. */
const GAUGES: ReadonlyArray<
  [name: string, help: string, read: (info: Map<string, string>) => number | undefined]
> = [
  [
    'used_memory_bytes',
    'Memory Redis has allocated (INFO used_memory).',
    (info) => Number(info.get('used_memory')),
  ],
  [
    'maxmemory_bytes',
    'The maxmemory limit, 0 when none (INFO maxmemory).',
    (info) => Number(info.get('maxmemory')),
  ],
  [
    'memory_fragmentation_ratio',
    'RSS over used memory (INFO mem_fragmentation_ratio).',
    (info) => Number(info.get('mem_fragmentation_ratio')),
  ],
  [
    'connected_clients',
    'Client connections (INFO connected_clients).',
    (info) => Number(info.get('connected_clients')),
  ],
  [
    'blocked_clients',
    'Clients blocked in BLPOP, XREAD and the like (INFO blocked_clients).',
    (info) => Number(info.get('blocked_clients')),
  ],
  [
    'ops_per_second',
    'Commands per second, as the server measures it (INFO instantaneous_ops_per_sec).',
    (info) => Number(info.get('instantaneous_ops_per_sec')),
  ],
  [
    'keyspace_hit_ratio',
    'Key lookups that found their key since the server started (keyspace_hits over hits and misses).',
    (info) => {
      const hits = Number(info.get('keyspace_hits'));
      const misses = Number(info.get('keyspace_misses'));
      return hits + misses > 0 ? hits / (hits + misses) : undefined;
    },
  ],
  [
    'replication_lag_seconds',
    "A replica's seconds since its primary last spoke, or a primary's slowest replica's lag.",
    replicationLag,
  ],
];

/** The server's running totals, exported as counters that advance by what each sample adds. */
const COUNTERS: ReadonlyArray<[name: string, help: string, field: string]> = [
  ['evicted_keys_total', 'Keys evicted by maxmemory, as INFO evicted_keys counts them.', 'evicted_keys'],
  ['expired_keys_total', 'Keys expired, as INFO expired_keys counts them.', 'expired_keys'],
];

/**
 * Samples each server (every master of a Cluster) of one connection every `intervalMs` into
 * `redkit_redis_server_*` gauges labelled `connection` and `node`, plus `redkit_redis_server_up`
 * (1 when the last sample answered) and `redkit_redis_server_slowlog_length`. Sampled on an interval
 * rather than on scrape, so a scrape never waits on Redis. Stops when the connection closes.
 */
export class RedisServerMetrics {
  private timer?: NodeJS.Timeout;
  private readonly gauges;
  private readonly counters;
  /** Each counter's last INFO total per node, to add only what a sample adds. */
  private readonly lastTotals = new Map<string, number>();
  private readonly up;
  private readonly slowlog;

  constructor(
    private readonly connection: RedisConnection,
    metrics: MetricsService,
    private readonly intervalMs: number,
  ) {
    this.gauges = GAUGES.map(([name, help, read]) => ({
      gauge: metrics.gauge({ name: `redkit_redis_server_${name}`, help, labelNames: ['connection', 'node'] }),
      read,
    }));
    this.counters = COUNTERS.map(([name, help, field]) => ({
      counter: metrics.counter({
        name: `redkit_redis_server_${name}`,
        help,
        labelNames: ['connection', 'node'],
      }),
      field,
    }));
    this.up = metrics.gauge({
      name: 'redkit_redis_server_up',
      help: 'Whether the last sample of the server answered (1) or not (0).',
      labelNames: ['connection', 'node'],
    });
    this.slowlog = metrics.gauge({
      name: 'redkit_redis_server_slowlog_length',
      help: 'Entries in the server slow log (SLOWLOG LEN).',
      labelNames: ['connection', 'node'],
    });
  }

  start(): this {
    this.timer ??= setInterval(() => void this.sample(), this.intervalMs).unref();
    void this.sample();
    this.connection.onStateChange((state) => {
      if (state.status === 'closed') this.stop();
    });
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample of every server; never throws (a server that does not answer reads `up` 0). */
  async sample(): Promise<void> {
    const { client } = this.connection;
    const nodes: RedisClient[] = client instanceof Cluster ? client.nodes('master') : [client];
    await Promise.all(nodes.map((node) => this.sampleNode(node)));
  }

  private async sampleNode(node: RedisClient): Promise<void> {
    const options = (node as { options?: { host?: string; port?: number } }).options;
    const labels = {
      connection: this.connection.name,
      node: `${options?.host ?? '?'}:${options?.port ?? '?'}`,
    };
    try {
      const [info, slowlog] = await Promise.all([
        node.call('INFO') as Promise<string>,
        node.call('SLOWLOG', 'LEN') as Promise<number>,
      ]);
      const fields = parseInfo(info);
      for (const { gauge, read } of this.gauges) {
        const value = read(fields);
        if (value !== undefined && Number.isFinite(value)) gauge.set(labels, value);
      }
      for (const { counter, field } of this.counters) {
        const total = Number(fields.get(field));
        if (!Number.isFinite(total)) continue;
        const key = `${field} ${labels.node}`;
        const last = this.lastTotals.get(key);
        // A total below the last one means the server restarted: all of it is new.
        counter.inc(labels, last === undefined || total < last ? total : total - last);
        this.lastTotals.set(key, total);
      }
      this.slowlog.set(labels, Number(slowlog));
      this.up.set(labels, 1);
    } catch {
      this.up.set(labels, 0);
    }
  }
}
