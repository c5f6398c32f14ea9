import { Inject, Injectable, Optional } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';

import type { RedisBody, RedisNodeInfo } from './console-api.types.js';
import { CONSOLE_EXTRAS, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import type { ResolvedConsoleExtras, ResolvedConsoleOptions } from './console-options.validator.js';
import { readMetric } from './metric-readings.js';

/** Gauge name suffix (`redkit_redis_server_<suffix>`) → field. */
const FIELDS: ReadonlyArray<[suffix: string, field: Exclude<keyof RedisNodeInfo, 'node' | 'up'>]> = [
  ['used_memory_bytes', 'usedMemoryBytes'],
  ['maxmemory_bytes', 'maxmemoryBytes'],
  ['memory_fragmentation_ratio', 'fragmentation'],
  ['connected_clients', 'clients'],
  ['blocked_clients', 'blockedClients'],
  ['ops_per_second', 'opsPerSecond'],
  ['keyspace_hit_ratio', 'hitRatio'],
  ['evicted_keys_total', 'evictedKeys'],
  ['expired_keys_total', 'expiredKeys'],
  ['slowlog_length', 'slowlogLength'],
];

const NOTES = [
  'slow log entries: SLOWLOG GET is @dangerous, so neither the console nor the collector reads them (only SLOWLOG LEN, on the collector’s own connection)',
  'per-command statistics and client lists: INFO commandstats and CLIENT LIST are @dangerous; use your Redis monitoring for those',
];

function emptyNode(node: string): RedisNodeInfo {
  return {
    node,
    up: false,
    usedMemoryBytes: null,
    maxmemoryBytes: null,
    fragmentation: null,
    clients: null,
    blockedClients: null,
    opsPerSecond: null,
    hitRatio: null,
    evictedKeys: null,
    expiredKeys: null,
    slowlogLength: null,
  };
}

/**
 * The Redis view, from what a connection's server-metrics collector (`RedisModule` option
 * `serverMetrics`) last sampled into the app's registry (see `serverMetricsConnection`): the console itself never sends INFO or
 * SLOWLOG (both @dangerous, not in a least-privilege user's rights). Says plainly when it cannot
 * see anything and what to turn on.
 */
@Injectable()
export class RedisView {
  constructor(
    @Inject(CONSOLE_EXTRAS) private readonly extras: ResolvedConsoleExtras,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Optional() @Inject(MetricsService) private readonly metrics?: MetricsService,
  ) {}

  async body(): Promise<RedisBody> {
    if (this.metrics === undefined) {
      return {
        available: false,
        reason: 'the app has no MetricsModule: the server-metrics collector samples Redis into its registry',
        nodes: [],
        notes: NOTES,
      };
    }
    const { registry } = this.metrics;
    const ups = await readMetric(registry, 'redkit_redis_server_up');
    const sampled = [...new Set(ups.map(({ labels }) => String(labels.connection)))].sort();
    const connection = this.collectorConnection(sampled);
    if (connection === undefined) {
      const wanted = this.options.serverMetricsConnection ?? this.extras.connection;
      return {
        available: false,
        reason:
          sampled.length === 0
            ? `no connection has the server-metrics collector on: turn it on with RedisModule.forRoot({ serverMetrics: true }) (it samples INFO and SLOWLOG LEN, with a user allowed them; a connection of its own is best)`
            : `the server-metrics collector is off for connection "${wanted}" (it is on for ${sampled.map((name) => `"${name}"`).join(', ')}: name one with the console's serverMetricsConnection option)`,
        nodes: [],
        notes: NOTES,
      };
    }
    const nodes = new Map<string, RedisNodeInfo>();
    for (const { labels, value } of ups) {
      if (labels.connection !== connection) continue;
      const node = emptyNode(String(labels.node));
      node.up = value === 1;
      nodes.set(node.node, node);
    }
    const readings = await Promise.all(
      FIELDS.map(([suffix]) => readMetric(registry, `redkit_redis_server_${suffix}`)),
    );
    FIELDS.forEach(([, field], index) => {
      for (const { labels, value } of readings[index] ?? []) {
        const node = labels.connection === connection ? nodes.get(String(labels.node)) : undefined;
        if (node !== undefined) node[field] = value;
      }
    });
    const notes =
      connection === this.extras.connection
        ? NOTES
        : [`sampled on connection "${connection}" (the console reads "${this.extras.connection}")`, ...NOTES];
    return {
      available: true,
      nodes: [...nodes.values()].sort((left, right) => left.node.localeCompare(right.node)),
      notes,
    };
  }

  /**
   * Whose samples to show: `serverMetricsConnection` when set; else the console's own connection
   * when it has a collector; else the one connection that has one. Undefined when none fits.
   */
  private collectorConnection(sampled: readonly string[]): string | undefined {
    const named = this.options.serverMetricsConnection;
    if (named !== undefined) return sampled.includes(named) ? named : undefined;
    if (sampled.includes(this.extras.connection)) return this.extras.connection;
    return sampled.length === 1 ? sampled[0] : undefined;
  }
}
