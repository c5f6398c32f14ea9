import { afterAll, beforeAll } from '@jest/globals';
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

import { deleteKeys } from '../harness/index.js';

export { deleteKeys, metricValue, sleep, uniquePrefix } from '../harness/index.js';

/**
 * Two instances of the lock service on one key prefix, as two processes of an app would have: opened
 * before the describe block's tests, closed after them, every key under the prefix deleted.
 * Call it in the describe block; read `a` and `b` in tests.
 */
export function twoInstances(
  redis: () => RedisModuleOptions,
  keyPrefix: string,
): { a: LockInstance; b: LockInstance } {
  const pair = {} as { a: LockInstance; b: LockInstance };
  beforeAll(async () => {
    pair.a = await openLocks({ ...redis(), keyPrefix });
    pair.b = await openLocks({ ...redis(), keyPrefix });
  });
  afterAll(async () => {
    if (pair.a) await deleteKeys(pair.a.connections[0]!, keyPrefix);
    await pair.a?.close();
    await pair.b?.close();
  });
  return pair;
}
