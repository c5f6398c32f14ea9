import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from '@jest/globals';
import { RedisConnection } from '@redkit/redis';

import {
  killWorkersAndDeleteKeys,
  forkReadyWorkers,
  messageFrom,
  sharedTopologies,
} from '../harness/index.js';
import { uniquePrefix } from './lock-test-kit.js';

const worker = fileURLToPath(new URL('./fixtures/rwlock.worker.mjs', import.meta.url));

const PROCESSES = 4;
const WORKERS = 16;
const SECTIONS = 400;

interface Report {
  violations?: string[];
  reads?: number;
  writes?: number;
  error?: string;
}

describe.each(sharedTopologies)('ReadWriteLock across processes on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('rwproc');
  const children: ChildProcess[] = [];

  afterAll(() => killWorkersAndDeleteKeys(children, redis(), keyPrefix));

  it(`never lets readers and a writer, or two writers, in at once: ${PROCESSES} processes x ${WORKERS} workers`, async () => {
    const readersKey = `${keyPrefix}:{counts}:readers`;
    const writersKey = `${keyPrefix}:{counts}:writers`;
    const options = JSON.stringify({ ...redis(), keyPrefix, commandTimeoutMs: 10_000 });
    const started = await forkReadyWorkers(
      worker,
      PROCESSES,
      () => [options, String(WORKERS), String(SECTIONS / PROCESSES), readersKey, writersKey],
      children,
    );
    const reports = started.map((child) =>
      messageFrom<Report>(child, (message) => typeof message === 'object'),
    );
    for (const child of started) child.send('go');
    const results = await Promise.all(reports);
    expect(results.map((result) => result.error)).toEqual(results.map(() => undefined));
    expect(results.flatMap((result) => result.violations ?? [])).toEqual([]);
    const writes = results.reduce((sum, result) => sum + (result.writes ?? 0), 0);
    const reads = results.reduce((sum, result) => sum + (result.reads ?? 0), 0);
    expect(reads + writes).toBe(SECTIONS);
    expect(writes).toBeGreaterThan(0);
    const connection = await RedisConnection.open('check', {
      ...redis(),
      keyPrefix,
      commandTimeoutMs: 10_000,
    });
    expect(await connection.client.mget(readersKey, writersKey)).toEqual(['0', '0']);
    await connection.close();
  }, 120_000);
});
