import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LockLostError } from '@redkit/lock';

import { RedisServer } from '../harness/index.js';
import { openLocks, sleep, uniquePrefix, type LockInstance } from './lock-test-kit.js';

describe('a held lock while its server is paused', () => {
  const keyPrefix = uniquePrefix('lockfault');
  let server: RedisServer;
  let instance: LockInstance;

  beforeAll(async () => {
    server = await RedisServer.start();
    instance = await openLocks({ url: server.url, keyPrefix, commandTimeoutMs: 200 });
  }, 30_000);

  afterAll(async () => {
    await instance?.close();
    await server?.stop();
  });

  it('aborts the signal of using() and rejects with LockLostError once the lease runs out unextended', async () => {
    let abortedAfterMs = -1;
    const started = Date.now();
    const outcome = await instance.locks
      .using(
        'paused',
        async (signal) => {
          server.pause(); // SIGSTOP: extensions time out, the lease runs out
          try {
            await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
            abortedAfterMs = Date.now() - started;
          } finally {
            server.resume();
          }
          return 'done';
        },
        { ttlMs: 500 },
      )
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(LockLostError);
    expect(outcome).toMatchObject({ resource: 'paused' });
    expect((outcome as LockLostError).attempts).toBeGreaterThanOrEqual(1);
    // Aborted no earlier than the lease's estimate ran out (a TTL of 500 ms less the drift allowance).
    expect(abortedAfterMs).toBeGreaterThanOrEqual(400);
    // The server is back: the lock can be had again once its TTL has passed on the server.
    await sleep(100);
    const lock = await instance.locks.acquire('paused', { maxWaitMs: 5_000 });
    await lock.release();
  });
});
