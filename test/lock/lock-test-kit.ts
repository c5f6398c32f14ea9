import { MetricsService } from '@redkit/metrics';
import { RedisConnection, scanKeys, type RedisModuleOptions } from '@redkit/redis';
import { LockService, type LockModuleOptions } from '@redkit/lock';

/** A lock service with its own connection(s) and metrics, as one app instance would have. */
export interface LockInstance {
  locks: LockService;
  connections: RedisConnection[];
  metrics: MetricsService;
  close(): Promise<void>;
}

export async function openLocks(
  redis: RedisModuleOptions | RedisModuleOptions[],
  options: LockModuleOptions = {},
): Promise<LockInstance> {
  const list = Array.isArray(redis) ? redis : [redis];
  const connections = await Promise.all(
    list.map((each, index) => RedisConnection.open(`lock-test-${index}`, each)),
  );
  const metrics = new MetricsService();
  const locks = new LockService(connections, options, metrics);
  await locks.onModuleInit();
  return {
    locks,
    connections,
    metrics,
    async close() {
      await locks.onApplicationShutdown();
      await Promise.all(connections.map((connection) => connection.close()));
    },
  };
}

/** Every key under `<prefix>:` (SCAN, every master of a Cluster). */
export async function listKeys(connection: RedisConnection, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of scanKeys(connection.client, `${prefix}:*`)) keys.push(...batch);
  return keys;
}

export { deleteKeys, metricValue, sleep, uniquePrefix } from '../harness/index.js';
