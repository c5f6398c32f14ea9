import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LockLostError } from '@redkit/lock';

import { eventually, RedisServer } from '../harness/index.js';
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

describe('waiters after the server restarts', () => {
  const keyPrefix = uniquePrefix('lockrestart');
  let server: RedisServer;
  let a: LockInstance;
  let b: LockInstance;

  beforeAll(async () => {
    server = await RedisServer.start();
    const options = { url: server.url, keyPrefix, reconnectMaxDelayMs: 100 };
    [a, b] = await Promise.all([openLocks(options), openLocks(options)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await server?.stop();
  });

  it('are woken by a release again: the grant subscriber resubscribes after the restart', async () => {
    await server.kill();
    await server.restart();
    // Both instances work again, then a waiter whose own retry is 20 s away must be woken.
    const held = await eventually(() => a.locks.acquire('after-restart', { ttlMs: 30_000 }), 10_000, 100);
    await sleep(500); // the subscriber's reconnect and resubscribe
    const waiting = b.locks.acquire('after-restart', { retryDelayMs: 20_000, maxWaitMs: 25_000 });
    await sleep(100);
    const releasedAt = Date.now();
    await held.release();
    const granted = await waiting;
    // Generous bound: without the notice the waiter would only look again after 20 s.
    expect(Date.now() - releasedAt).toBeLessThan(5_000);
    expect(granted.fencingToken).toBeGreaterThan(held.fencingToken);
    await granted.release();
  });
});
