import { describe, expect, it } from '@jest/globals';
import { LockNotAcquiredError, UpgradeNotSupportedError, type ReadWriteLease } from '@redkit/lock';

import { eventually, sharedTopologies } from '../harness/index.js';
import { listKeys, sleep, twoInstances, uniquePrefix } from './lock-test-kit.js';

describe.each(sharedTopologies)('ReadWriteLock on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('rwlock');
  // Two instances of the service, as two processes of an app.
  const pair = twoInstances(redis, keyPrefix);

  it('lets many readers in at once, keeps the writer out until they leave, and readers out while it writes', async () => {
    const here = pair.a.locks.readWriteLock('doc');
    const there = pair.b.locks.readWriteLock('doc');
    const readers = await Promise.all([here.acquireRead(), there.acquireRead(), here.acquireRead()]);
    await expect(there.acquireWrite({ maxWaitMs: 100 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    await Promise.all(readers.map((reader) => reader.release()));
    const writer = await there.acquireWrite({ maxWaitMs: 1_000 });
    expect(writer.mode).toBe('write');
    expect(writer.fencingToken).toBeGreaterThan(Math.max(...readers.map((reader) => reader.fencingToken)));
    await expect(here.acquireRead({ maxWaitMs: 100 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    await expect(here.acquireWrite({ maxWaitMs: 100 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    expect(await writer.release()).toBe(true);
    const reader = await here.acquireRead({ maxWaitMs: 1_000 });
    expect(reader.fencingToken).toBeGreaterThan(writer.fencingToken);
    await reader.release();
  });

  it('is not starved by a continuous stream of readers: a waiting writer holds new readers back', async () => {
    const connection = pair.a.connections[0]!;
    const lock = pair.a.locks.readWriteLock('stream', { maxWaitMs: 10_000 });
    const other = pair.b.locks.readWriteLock('stream', { maxWaitMs: 10_000 });
    const readerTokens: number[] = [];
    let streaming = true;
    // Readers overlap one another, so without writer preference the lock would never be free.
    const stream = (async () => {
      const running: Promise<void>[] = [];
      while (streaming) {
        running.push(
          lock.read(async (_signal, lease) => {
            readerTokens.push(lease.fencingToken);
            await sleep(60);
          }),
        );
        await sleep(15);
      }
      await Promise.all(running);
    })();
    await sleep(150);
    let writerToken = 0;
    const writing = other.write(async (_signal, lease) => {
      writerToken = lease.fencingToken;
      // While it writes, no reader holds a lease.
      expect(await connection.client.zcard(`${keyPrefix}:rwlock:{stream}:readers`)).toBe(0);
      await sleep(30);
    });
    await writing;
    await sleep(150);
    streaming = false;
    await stream;
    // The writer got in while readers kept coming: some were granted before it, some after.
    expect(readerTokens.some((token) => token < writerToken)).toBe(true);
    expect(readerTokens.some((token) => token > writerToken)).toBe(true);
  });

  it('answers a reader that asks to write with UpgradeNotSupportedError instead of waiting for itself', async () => {
    const lock = pair.a.locks.readWriteLock('upgrade');
    const attempt = await lock.read(async (_signal, lease: ReadWriteLease) => {
      expect(() => lease.upgrade()).toThrow(UpgradeNotSupportedError);
      return lock.acquireWrite({ maxWaitMs: 5_000 }).then(
        () => 'granted',
        (error: unknown) => error,
      );
    });
    expect(attempt).toBeInstanceOf(UpgradeNotSupportedError);
    // Outside the read, writing works (the read lease was released).
    const writer = await lock.acquireWrite({ maxWaitMs: 1_000 });
    await writer.release();
  });

  it('never grants back a lease that ended, and aborts its signal', async () => {
    const lock = pair.a.locks.readWriteLock('lapse');
    const reader = await lock.acquireRead({ ttlMs: 100 });
    await sleep(150);
    expect(await reader.extend()).toBe(false);
    expect(reader.signal.aborted).toBe(true);
    const writer = await lock.acquireWrite({ ttlMs: 100, maxWaitMs: 0 });
    await sleep(150);
    expect(await writer.extend()).toBe(false);
    expect(await writer.release()).toBe(false);
    const live = await lock.acquireWrite({ maxWaitMs: 0 });
    expect(await live.extend(1_000)).toBe(true);
    await live.release();
  });

  it('leaves no key without expiry, and nothing once its leases ended', async () => {
    const connection = pair.a.connections[0]!;
    const lock = pair.a.locks.readWriteLock('tidy');
    const reader = await lock.acquireRead({ ttlMs: 300 });
    await expect(lock.acquireWrite({ maxWaitMs: 50 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    const keys = await listKeys(connection, `${keyPrefix}:rwlock:{tidy}`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(await connection.client.pttl(key)).toBeGreaterThan(0);
    await reader.release();
    await eventually(
      async () => expect(await listKeys(connection, `${keyPrefix}:rwlock:{tidy}`)).toEqual([]),
      5_000,
    );
  });
});
