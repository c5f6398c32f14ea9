import { BadRequestException, Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import type { RedisConnection } from '@redkit/redis';

import type { CacheBody, CacheNamespaceInfo } from './console-api.types.js';
import { CONSOLE_CONNECTION } from './console.constants.js';
import { ConsolePeers } from './console-peers.js';
import { bucketBound, histogramQuantile, readMetric, type Buckets } from './metric-readings.js';
import { asHttpError } from './redis-unavailable.js';

/** What `POST api/cache/evict` was asked: one key or one tag, in a namespace or the default one. */
export type CacheEviction = { key: string; namespace?: string } | { tag: string; namespace?: string };

function row(name: string): CacheNamespaceInfo {
  return {
    name,
    l1Hits: 0,
    l2Hits: 0,
    misses: 0,
    hitRatio: null,
    staleServed: 0,
    loaderP50Ms: null,
    invalidationsSent: null,
    invalidationsReceived: null,
  };
}

/**
 * The Cache view: hits by level, misses, stale values served and loader latency per namespace,
 * read in process from the app's metrics registry; L1's entries and bytes from the CacheService;
 * and, in operate mode, evicting a key or a tag (L1 and L2, every instance, through the cache's own
 * invalidation).
 */
@Injectable()
export class CacheView {
  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
    @Optional() @Inject(MetricsService) private readonly metrics?: MetricsService,
  ) {}

  async body(): Promise<CacheBody> {
    const cache = this.requireCache();
    const rows = new Map<string, CacheNamespaceInfo>();
    const rowOf = (name: unknown) => {
      const key = String(name ?? 'default');
      let found = rows.get(key);
      if (found === undefined) rows.set(key, (found = row(key)));
      return found;
    };
    if (this.metrics !== undefined) {
      const { registry } = this.metrics;
      const [hits, misses, stale, loader, invalidations] = await Promise.all([
        readMetric(registry, 'redkit_cache_hits_total'),
        readMetric(registry, 'redkit_cache_misses_total'),
        readMetric(registry, 'redkit_cache_stale_served_total'),
        readMetric(registry, 'redkit_cache_loader_duration_seconds'),
        readMetric(registry, 'redkit_cache_invalidations_total'),
      ]);
      for (const { labels, value } of invalidations) {
        const target = rowOf(labels.cache);
        if (labels.direction === 'sent') target.invalidationsSent = (target.invalidationsSent ?? 0) + value;
        else if (labels.direction === 'received')
          target.invalidationsReceived = (target.invalidationsReceived ?? 0) + value;
      }
      for (const { labels, value } of hits) {
        const target = rowOf(labels.cache);
        if (labels.level === 'l1') target.l1Hits += value;
        else if (labels.level === 'l2') target.l2Hits += value;
      }
      for (const { labels, value } of misses) rowOf(labels.cache).misses += value;
      for (const { labels, value } of stale) rowOf(labels.cache).staleServed += value;
      const buckets = new Map<string, Buckets>();
      for (const { labels, value, metricName } of loader) {
        if (!metricName?.endsWith('_bucket')) continue;
        const name = String(labels.cache ?? 'default');
        let list = buckets.get(name);
        if (list === undefined) buckets.set(name, (list = []));
        list.push([bucketBound(labels.le), value]);
      }
      for (const [name, list] of buckets) {
        const p50 = histogramQuantile(0.5, list);
        rowOf(name).loaderP50Ms = p50 === null ? null : Math.round(p50 * 100_000) / 100;
      }
    }
    for (const info of rows.values()) {
      const reads = info.l1Hits + info.l2Hits + info.misses;
      info.hitRatio = reads === 0 ? null : (info.l1Hits + info.l2Hits) / reads;
    }
    const usage = cache.l1Usage;
    return {
      namespaces: [...rows.values()].sort((left, right) => left.name.localeCompare(right.name)),
      l1: { entries: usage.entries, bytes: usage.bytes },
    };
  }

  async evict(eviction: CacheEviction): Promise<{ evicted: true; removed?: number }> {
    const cache = this.requireCache();
    const options = eviction.namespace === undefined ? {} : { namespace: eviction.namespace };
    try {
      if ('key' in eviction) {
        await cache.delete(eviction.key, options);
        return { evicted: true };
      }
      return { evicted: true, removed: await cache.deleteByTag(eviction.tag, options) };
    } catch (error) {
      if (
        error instanceof Error &&
        (error.name === 'CacheOptionsError' || error.name === 'InvalidKeyPartError')
      ) {
        throw new BadRequestException(`${'key' in eviction ? 'key' : 'tag'}: ${error.message}`);
      }
      throw asHttpError(this.connection, error, 'the eviction');
    }
  }

  private requireCache() {
    const { cache } = this.peers;
    if (cache === undefined)
      throw new NotFoundException('the cache view needs @redkit/cache (CacheModule) in the app');
    return cache;
  }
}
