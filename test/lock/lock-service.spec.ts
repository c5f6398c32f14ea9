import { describe, expect, it } from '@jest/globals';
import { LockLostError, LockNotAcquiredError, type Lock } from '@redkit/lock';

import { eventually, sharedTopologies } from '../harness/index.js';
import { metricValue, openLocks, sleep, twoInstances, uniquePrefix } from './lock-test-kit.js';

describe.each(sharedTopologies)('LockService on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('lock');
  // Two instances of the service, as two processes of an app.
  const pair = twoInstances(redis, keyPrefix);

  it('grants a free lock with a fencing token and refuses a second holder', async () => {
    const lock = await pair.a.locks.acquire('free', { ttlMs: 5_000 });
    expect(lock.resource).toBe('free');
    expect(lock.fencingToken).toBeGreaterThan(0);
    expect(lock.expiresAt).toBeGreaterThan(Date.now());
    expect(lock.expiresAt).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(await pair.b.locks.tryAcquire('free')).toBeNull();
    expect(await lock.release()).toBe(true);
    const next = await pair.b.locks.tryAcquire('free');
    expect(next!.fencingToken).toBeGreaterThan(lock.fencingToken);
    await next?.release();
  });

  it('makes release and extend with a stale token no-ops that report failure', async () => {
    const first = await pair.a.locks.acquire('stale', { ttlMs: 100 });
    await sleep(150);
    // Expired: another holder may take it.
    const second = await pair.b.locks.acquire('stale', { ttlMs: 5_000, maxWaitMs: 0 });
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(await first.extend(5_000)).toBe(false);
    expect(await first.release()).toBe(false);
    // The second holder still holds it: nobody else can take it.
    expect(await pair.a.locks.tryAcquire('stale')).toBeNull();
    expect(await second.extend(5_000)).toBe(true);
    expect(await second.release()).toBe(true);
    expect(await second.release()).toBe(true);
  });

  it('hands fencing tokens out in strictly increasing order of acquisition', async () => {
    const tokens: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 ? pair.a : pair.b).locks.using('order', async (_signal, lock) => {
          tokens.push(lock.fencingToken);
          await sleep(1);
        }),
      ),
    );
    expect(tokens).toHaveLength(20);
    for (let index = 1; index < tokens.length; index += 1) {
      expect(tokens[index]).toBeGreaterThan(tokens[index - 1]!);
    }
  });

  it('grants a waiter the lock on release, not after its retry timer', async () => {
    const held = await pair.a.locks.acquire('handoff', { ttlMs: 10_000 });
    let releasedAt = 0;
    // Its retry timer would fire only after maxWaitMs: only the release's notice can grant it in time.
    const waiting = pair.b.locks
      .acquire('handoff', { retryDelayMs: 10_000, jitterMs: 0, maxWaitMs: 5_000 })
      .then((lock) => ({ lock, grantedAt: Date.now() }));
    await sleep(100);
    releasedAt = Date.now();
    expect(await held.release()).toBe(true);
    const { lock, grantedAt } = await waiting;
    // Generous bound (typically well under 5 ms): far below the 5 s the timer would have taken.
    expect(grantedAt - releasedAt).toBeLessThan(1_000);
    expect(lock.fencingToken).toBeGreaterThan(held.fencingToken);
    await lock.release();
  });

  it('serves waiters of different processes in arrival order', async () => {
    // One waiter per instance, so that the order is Redis's queue alone.
    const instances = await Promise.all(
      Array.from({ length: 6 }, () => openLocks({ ...redis(), keyPrefix }, { localHandoff: false })),
    );
    try {
      const held = await pair.a.locks.acquire('fifo', { ttlMs: 10_000 });
      const order: number[] = [];
      const waiters: Array<Promise<void>> = [];
      for (const [index, instance] of instances.entries()) {
        waiters.push(
          instance.locks.acquire('fifo', { retryDelayMs: 2_000 }).then(async (lock) => {
            order.push(index);
            await lock.release();
          }),
        );
        // Arrivals 50 ms apart: a waiter arrives when its queueing attempt lands (its second round
        // trip), which a loaded machine can delay by more than a few ms.
        await sleep(50);
      }
      await held.release();
      await Promise.all(waiters);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await Promise.all(instances.map((instance) => instance.close()));
    }
  });

  it('hands the lock over in-process in arrival order, with strictly increasing fencing tokens', async () => {
    const held = await pair.a.locks.acquire('local', { ttlMs: 10_000 });
    const granted: Array<{ index: number; fence: number }> = [];
    const waiters = Array.from({ length: 20 }, (_, index) =>
      pair.a.locks.acquire('local').then(async (lock) => {
        granted.push({ index, fence: lock.fencingToken });
        await lock.release();
      }),
    );
    await held.release();
    await Promise.all(waiters);
    expect(granted.map((entry) => entry.index)).toEqual(Array.from({ length: 20 }, (_, index) => index));
    const fences = [held.fencingToken, ...granted.map((entry) => entry.fence)];
    for (let index = 1; index < fences.length; index += 1) {
      expect(fences[index]).toBeGreaterThan(fences[index - 1]!);
    }
    // Hand-overs use the rest of the holder's block, then renewed blocks (nobody else waits).
    expect(fences[15]).toBe(held.fencingToken + 15);
    // Once the last local holder released, the lock is free for another process.
    const other = await pair.b.locks.tryAcquire('local');
    expect(other).not.toBeNull();
    await other?.release();
  });

  it('ends an in-process batch when another process waits', async () => {
    const held = await pair.a.locks.acquire('batch', { ttlMs: 10_000 });
    const order: string[] = [];
    const section = (name: string) => async (lock: { release(): Promise<boolean> }) => {
      order.push(name);
      await sleep(1);
      await lock.release();
    };
    const local = Array.from({ length: 100 }, (_, index) =>
      pair.a.locks.acquire('batch').then(section(`a${index}`)),
    );
    const remote = pair.b.locks.acquire('batch').then(section('b'));
    await sleep(50);
    await held.release();
    await Promise.all([...local, remote]);
    // b got its turn once the tokens reserved before it queued ran out (the first block of 16, at
    // most one renewal of 64), not after all 100 local callers.
    expect(order.indexOf('b')).toBeGreaterThan(-1);
    expect(order.indexOf('b')).toBeLessThan(16 + 64 + 1);
  });

  it('times out and aborts waiters queued in-process like any other', async () => {
    const held = await pair.a.locks.acquire('local-wait', { ttlMs: 10_000 });
    const timedOut = pair.a.locks.acquire('local-wait', { maxWaitMs: 100 }).catch((error: unknown) => error);
    const controller = new AbortController();
    const aborted = pair.a.locks
      .acquire('local-wait', { signal: controller.signal })
      .catch((error: unknown) => error);
    const served = pair.a.locks.acquire('local-wait');
    controller.abort();
    expect(await aborted).toMatchObject({ reason: 'aborted' });
    expect(await timedOut).toMatchObject({ reason: 'timeout' });
    await held.release();
    const lock = await served;
    expect(lock.fencingToken).toBe(held.fencingToken + 1);
    await lock.release();
  });

  it('moves local waiters on when a holder lets its lease run out without releasing', async () => {
    await pair.a.locks.acquire('forgotten', { ttlMs: 200 }); // never released
    const lock = await pair.a.locks.acquire('forgotten', { ttlMs: 5_000, maxWaitMs: 5_000 });
    expect(lock.expiresAt).toBeGreaterThan(Date.now());
    await lock.release();
  });

  it('takes over a lock whose holder died, once its TTL has passed', async () => {
    const dead = await pair.a.locks.acquire('crash', { ttlMs: 300 });
    const started = Date.now();
    const lock = await pair.b.locks.acquire('crash', { ttlMs: 5_000, retryDelayMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(lock.fencingToken).toBeGreaterThan(dead.fencingToken);
    await lock.release();
  });

  it('gives up with LockNotAcquiredError after maxWaitMs or the retries, with the attempts made', async () => {
    const held = await pair.a.locks.acquire('busy', { ttlMs: 10_000 });
    const timeout = await pair.b.locks.acquire('busy', { maxWaitMs: 200, retryDelayMs: 20 }).catch((e) => e);
    expect(timeout).toBeInstanceOf(LockNotAcquiredError);
    expect(timeout).toMatchObject({ resource: 'busy', reason: 'timeout' });
    expect((timeout as LockNotAcquiredError).attempts).toBeGreaterThan(1);
    const retries = await pair.b.locks.acquire('busy', { retries: 2, retryDelayMs: 10 }).catch((e) => e);
    expect(retries).toMatchObject({ reason: 'retries', attempts: 3 });
    // The waiters that gave up left the queue: the lock goes free on release.
    await held.release();
    const after = await pair.b.locks.tryAcquire('busy');
    expect(after).not.toBeNull();
    await after?.release();
  });

  it('stops waiting promptly when the signal aborts', async () => {
    const held = await pair.a.locks.acquire('abort', { ttlMs: 10_000 });
    const controller = new AbortController();
    const waiting = pair.b.locks
      .acquire('abort', { signal: controller.signal, retryDelayMs: 5_000, maxWaitMs: 20_000 })
      .catch((error: unknown) => error);
    await sleep(50);
    const abortedAt = Date.now();
    controller.abort();
    const error = await waiting;
    // Generous bound: its next retry was 5 s away.
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(LockNotAcquiredError);
    expect(error).toMatchObject({ reason: 'aborted', attempts: 1 });
    // It leaves the queue without holding up the caller (the leave is not awaited), so a release
    // racing that leave may hand the lock to the aborted waiter's token, whose leave then passes
    // it on: either way the lock is free again at once, without waiting for its TTL.
    await held.release();
    await eventually(
      async () => {
        const next = await pair.a.locks.tryAcquire('abort');
        expect(next).not.toBeNull();
        await next?.release();
      },
      2_000,
      20,
    );
    expect(await metricValue(pair.b.metrics, 'redkit_lock_acquire_total{outcome="aborted"}')).toBe(1);
  });

  it('keeps a task of 5x the TTL holding the lock by extending it', async () => {
    let fence = 0;
    const result = await pair.a.locks.using(
      'long',
      async (signal, lock) => {
        fence = lock.fencingToken;
        for (let step = 0; step < 10; step += 1) {
          await sleep(150);
          expect(signal.aborted).toBe(false);
          expect(await pair.b.locks.tryAcquire('long')).toBeNull();
        }
        return 'done';
      },
      { ttlMs: 300 }, // 10 x 150 ms = 5 x the TTL
    );
    expect(result).toBe('done');
    const after = await pair.b.locks.tryAcquire('long');
    expect(after!.fencingToken).toBeGreaterThan(fence);
    await after?.release();
  });

  it('aborts the signal and rejects with LockLostError when the key is stolen', async () => {
    let aborted: unknown;
    const outcome = await pair.a.locks
      .using(
        'stolen',
        async (signal) => {
          // Someone deletes the key behind the holder's back (an operator, a FLUSHDB).
          const key = `${keyPrefix}:lock:{stolen}:owner`;
          await pair.a.connections[0]!.client.del(key);
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
          aborted = signal.reason;
          return 'finished anyway';
        },
        { ttlMs: 200 },
      )
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(LockLostError);
    expect(aborted).toBe(outcome);
    expect(outcome).toMatchObject({ resource: 'stolen' });
    expect(await metricValue(pair.a.metrics, 'redkit_lock_lost_total')).toBeGreaterThanOrEqual(1);
  });

  it('releases in finally when the callback throws', async () => {
    const failure = new Error('boom');
    await expect(pair.a.locks.using('throws', () => Promise.reject(failure))).rejects.toBe(failure);
    const next = await pair.b.locks.tryAcquire('throws');
    expect(next).not.toBeNull();
    await next?.release();
  });

  it('leaves nothing but the fencing counter behind, and that expires', async () => {
    const lock: Lock = await pair.a.locks.acquire('tidy');
    await lock.release();
    await eventually(async () => {
      const client = pair.a.connections[0]!.client;
      expect(await client.exists(`${keyPrefix}:lock:{tidy}:owner`)).toBe(0);
      // The counter ends the block of 16 tokens reserved for in-process hand-overs.
      expect(await client.get(`${keyPrefix}:lock:{tidy}:fence`)).toBe(String(lock.fencingToken + 15));
      expect(await client.pttl(`${keyPrefix}:lock:{tidy}:fence`)).toBeGreaterThan(0);
    });
  });
});
