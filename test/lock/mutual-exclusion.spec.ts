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

const worker = fileURLToPath(new URL('./fixtures/mutex.worker.mjs', import.meta.url));

const PROCESSES = 4;
const WORKERS = 16;
const SECTIONS = 10_000;
/** A functional bound, not a speed claim: on a loaded 2-core CI machine one topology took over a minute. */
const RUN_BOUND_MS = 300_000;

type Section = [fence: number, read: number, start: number, end: number];

describe.each(sharedTopologies)('mutual exclusion across processes on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('mutex');
  const children: ChildProcess[] = [];

  afterAll(() => killWorkersAndDeleteKeys(children, redis(), keyPrefix));

  it(
    `keeps ${PROCESSES} processes x ${WORKERS} workers doing ${SECTIONS} read-await-write sections exact and never overlapping`,
    async () => {
      const counterKey = `${keyPrefix}:counter`;
      // Generous command timeouts: on a loaded machine a 1 s timeout on the counter GET/SET would fail
      // the run for reasons that have nothing to do with the lock.
      const options = JSON.stringify({ ...redis(), keyPrefix, commandTimeoutMs: 10_000 });
      const started = await forkReadyWorkers(
        worker,
        PROCESSES,
        () => [options, String(WORKERS), String(SECTIONS / PROCESSES), counterKey],
        children,
      );
      const reports = started.map((child) =>
        messageFrom<{ sections?: Section[]; error?: string }>(
          child,
          (message) => typeof message === 'object',
        ),
      );
      for (const child of started) child.send('go');
      const results = await Promise.all(reports);
      expect(results.map((result) => result.error)).toEqual(results.map(() => undefined));

      // The counter is exact: no read-await-write interleaved with another.
      const connection = await RedisConnection.open('check', {
        ...redis(),
        keyPrefix,
        commandTimeoutMs: 10_000,
      });
      expect(await connection.client.get(counterKey)).toBe(String(SECTIONS));
      await connection.close();

      // Every section had its own fencing token, and in token order the k-th section read k: each saw
      // the write of the one before it and nothing else. So no two holders' read-await-write
      // interleaved, and token order is acquisition order, across processes (no clocks compared).
      const all = results.flatMap((result) => result.sections ?? []);
      expect(all).toHaveLength(SECTIONS);
      all.sort((left, right) => left[0] - right[0]);
      expect(new Set(all.map((section) => section[0])).size).toBe(SECTIONS);
      const outOfOrder = all.filter((section, index) => section[1] !== index);
      expect(outOfOrder).toEqual([]);

      // Within each process (one clock), no two holders' intervals overlap, in token order.
      for (const result of results) {
        const own = [...(result.sections ?? [])].sort((left, right) => left[0] - right[0]);
        const overlaps = own.filter((section, index) => index > 0 && section[2] < own[index - 1]![3]);
        expect(overlaps).toEqual([]);
      }
    },
    RUN_BOUND_MS,
  );
});
