import { MetricsService } from '@redkit/metrics';
import { RedisConnection, scanKeys, type RedisModuleOptions } from '@redkit/redis';

/** A unique key prefix per test file run, so parallel files never share keys. */
export function uniquePrefix(name: string): string {
  return `rkmsg${name}${process.pid}${Date.now().toString(36)}`;
}

/** Deletes every key under `<prefix>:` (SCAN + UNLINK). */
export async function deleteKeys(connection: RedisConnection, prefix: string): Promise<void> {
  for await (const batch of scanKeys(connection.client, `${prefix}:*`)) {
    await Promise.all(batch.map((key) => connection.client.unlink(key)));
  }
}

/** Opens a connection with the test's prefix. */
export function open(
  redis: RedisModuleOptions,
  keyPrefix: string,
  name = 'messaging-test',
): Promise<RedisConnection> {
  return RedisConnection.open(name, { ...redis, keyPrefix });
}

/** The value of one series in the registry's text output, or 0. */
export async function metricValue(metrics: MetricsService, series: string): Promise<number> {
  const text = await metrics.metrics();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
