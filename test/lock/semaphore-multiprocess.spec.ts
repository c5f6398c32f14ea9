import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { killWorkersAndDeleteKeys, messageFrom, sharedTopologies, workerOutput } from '../harness/index.js';
import { openLocks, uniquePrefix, type LockInstance } from './lock-test-kit.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/semaphore.worker.mjs', import.meta.url));
const TEN_MINUTES = 600_000;

describe.each(sharedTopologies)('Semaphore across processes on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('semproc');
  const children: ChildProcess[] = [];
  let local: LockInstance;

  beforeAll(async () => {
    local = await openLocks({ ...redis(), keyPrefix });
  });

  afterAll(async () => {
    await local?.close();
    await killWorkersAndDeleteKeys(children, redis(), keyPrefix);
  });

  const start = (clockOffsetMs: number, ...args: string[]): ChildProcess => {
    const options = JSON.stringify({ ...redis(), keyPrefix, commandTimeoutMs: 10_000 });
    const child = fork(worker, [options, String(clockOffsetMs), ...args], {
      cwd: root,
      stdio: ['ignore', workerOutput, workerOutput, 'ipc'],
    });
    children.push(child);
    return child;
  };

  it('never has more than the limit inside across 4 processes whose clocks are 10 minutes off either way', async () => {
    const limit = 3;
    const counterKey = `${keyPrefix}:inside`;
    const started = [TEN_MINUTES, -TEN_MINUTES, 0, TEN_MINUTES].map((offset) =>
      start(offset, 'sections', String(limit), '4', '75', counterKey),
    );
    await Promise.all(started.map((child) => messageFrom(child, (message) => message === 'ready')));
    const reports = started.map((child) =>
      messageFrom<{ mostInside?: number; tokens?: number[]; error?: string }>(
        child,
        (message) => typeof message === 'object',
      ),
    );
    for (const child of started) child.send('go');
    const results = await Promise.all(reports);
    expect(results.map((result) => result.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(Math.max(...results.map((result) => result.mostInside ?? 0))).toBe(limit);
    const tokens = results.flatMap((result) => result.tokens ?? []);
    expect(new Set(tokens).size).toBe(300);
    expect(await local.connections[0]!.client.get(counterKey)).toBe('0');
    expect(await local.locks.semaphore('shared', { limit }).available()).toBe(limit);
  }, 120_000);

  it("returns a SIGKILLed holder's permits once its lease ends, and available() is exact", async () => {
    const semaphore = local.locks.semaphore('shared', { limit: 3 });
    const holder = start(0, 'hold', '3');
    await messageFrom(holder, (message) => message === 'held');
    holder.kill('SIGKILL');
    expect(await semaphore.available()).toBe(0);
    const startedAt = Date.now();
    const permit = await semaphore.acquire(3, { maxWaitMs: 5_000 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(200);
    expect(await semaphore.available()).toBe(0);
    await permit.release();
    expect(await semaphore.available()).toBe(3);
  });
});
