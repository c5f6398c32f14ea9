import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from '@jest/globals';

import {
  killWorkersAndDeleteKeys,
  forkReadyWorkers,
  messageFrom,
  sharedTopologies,
} from '../harness/index.js';
import { uniquePrefix } from './cache-test-kit.js';

const worker = fileURLToPath(new URL('./fixtures/single-flight.worker.mjs', import.meta.url));

interface WorkerReport {
  loaderCalls: number;
  loadedBy: number[];
}

describe.each(sharedTopologies)('distributed single-flight on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('flight');
  const children: ChildProcess[] = [];

  afterAll(() => killWorkersAndDeleteKeys(children, redis(), keyPrefix));

  it('runs the loader exactly once for 3 processes x 50 concurrent callers on one cold key', async () => {
    const options = JSON.stringify({ ...redis(), keyPrefix });
    const started = await forkReadyWorkers(worker, 3, () => [options, '50', 'cold-key'], children);
    const reports = started.map((child) =>
      messageFrom<WorkerReport>(child, (message) => typeof message === 'object'),
    );
    for (const child of started) child.send('go');
    const results = await Promise.all(reports);
    expect(results.reduce((sum, report) => sum + report.loaderCalls, 0)).toBe(1);
    const loaders = new Set(results.flatMap((report) => report.loadedBy));
    expect(loaders.size).toBe(1);
  });
});
