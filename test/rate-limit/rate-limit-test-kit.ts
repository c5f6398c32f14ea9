import { MetricsService } from '@redkit/metrics';
import { RedisConnection, type RedisModuleOptions } from '@redkit/redis';
import { RateLimiterService, type RateLimitModuleOptions } from '@redkit/rate-limit';

/** A limiter with its own connection and metrics, as one app instance would have. */
export interface LimiterInstance {
  limiter: RateLimiterService;
  connection: RedisConnection;
  metrics: MetricsService;
  close(): Promise<void>;
}

export async function openLimiter(
  redis: RedisModuleOptions,
  options: RateLimitModuleOptions = {},
): Promise<LimiterInstance> {
  const connection = await RedisConnection.open('rate-limit-test', redis);
  const metrics = new MetricsService();
  const limiter = new RateLimiterService(connection, options, metrics);
  return { limiter, connection, metrics, close: () => connection.close() };
}

export { deleteKeys, metricValue, sleep, uniquePrefix } from '../harness/index.js';
