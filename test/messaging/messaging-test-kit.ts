import { RedisConnection, type RedisModuleOptions } from '@redkit/redis';

/** A unique key prefix per test file run, so parallel files never share keys. */
export function uniquePrefix(name: string): string {
  return `rkmsg${name}${process.pid}${Date.now().toString(36)}`;
}

/** Opens a connection with the test's prefix. */
export function open(
  redis: RedisModuleOptions,
  keyPrefix: string,
  name = 'messaging-test',
): Promise<RedisConnection> {
  return RedisConnection.open(name, { ...redis, keyPrefix });
}

export { deleteKeys, metricValue, sleep } from '../harness/index.js';
