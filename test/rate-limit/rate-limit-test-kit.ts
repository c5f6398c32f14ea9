import { MetricsService } from '@redkit/metrics';
import { RedisConnection, scanKeys, type RedisModuleOptions } from '@redkit/redis';
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

/** Deletes every key under `<prefix>:` (SCAN + UNLINK, one key at a time for the Cluster). */
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
