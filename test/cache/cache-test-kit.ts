import { MetricsService } from '@redkit/metrics';
import { RedisConnection, type RedisModuleOptions } from '@redkit/redis';
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

export { deleteKeys, metricValue, sleep, uniquePrefix } from '../harness/index.js';
