import { MetricsService } from '@redkit/metrics';
import { RedisConnection, scanKeys, type RedisModuleOptions } from '@redkit/redis';
import { CacheService, type CacheModuleOptions } from '@redkit/cache';

/** A cache instance with its own connection and metrics, as one app instance would have. */
export interface CacheInstance {
  cache: CacheService;
  connection: RedisConnection;
  metrics: MetricsService;
  close(): Promise<void>;
}

export async function openCache(
  redis: RedisModuleOptions,
  options: CacheModuleOptions = {},
): Promise<CacheInstance> {
  const connection = await RedisConnection.open('cache-test', redis);
  const metrics = new MetricsService();
  const cache = new CacheService(connection, options, metrics);
  await cache.onModuleInit();
  return {
    cache,
    connection,
    metrics,
    async close() {
      await cache.onApplicationShutdown();
      await connection.close();
    },
  };
}

/** Deletes every key under `<prefix>:` (SCAN + UNLINK). */
export async function deleteKeys(connection: RedisConnection, prefix: string): Promise<void> {
  for await (const batch of scanKeys(connection.client, `${prefix}:*`)) {
    await Promise.all(batch.map((key) => connection.client.unlink(key)));
  }
}

/** The value of one series in the registry's text output, or 0. */
export async function metricValue(metrics: MetricsService, series: string): Promise<number> {
  const text = await metrics.metrics();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** A unique key prefix per test file run, so parallel files never share keys. */
export function uniquePrefix(name: string): string {
  return `rk${name}${process.pid}${Date.now().toString(36)}`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
