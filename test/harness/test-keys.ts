import type { MetricsService } from '@redkit/metrics';
import type { ChildProcess } from 'node:child_process';

import { RedisConnection, scanKeys, type RedisModuleOptions } from '@redkit/redis';

/** A key prefix no other test file or run uses: `rk<name><pid><time>`. */
export function uniquePrefix(name: string): string {
  return `rk${name}${process.pid}${Date.now().toString(36)}`;
}

/** Deletes every key under `<prefix>:` (SCAN + UNLINK, on every master of a Cluster). */
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * After a multi-process test: kills the forked workers still running and deletes the keys under
 * `prefix` through a connection of its own (the workers' connections die with them). Its commands
 * get 10 s, not the default 1 s: this cleanup runs right after a flood, while the machine may be
 * running other suites' floods too, and a late cleanup is no test failure.
 */
export async function killWorkersAndDeleteKeys(
  children: readonly ChildProcess[],
  redis: RedisModuleOptions,
  prefix: string,
): Promise<void> {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  const connection = await RedisConnection.open('cleanup', {
    ...redis,
    keyPrefix: prefix,
    commandTimeoutMs: 10_000,
  });
  try {
    await deleteKeys(connection, prefix);
  } finally {
    await connection.close();
  }
}
