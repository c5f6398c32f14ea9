import { describe, expect, it } from '@jest/globals';
import { LockLostError, LockNotAcquiredError, LockOptionsError } from '@redkit/lock';

import { eventually, sharedTopologies } from '../harness/index.js';
import { listKeys, sleep, twoInstances, uniquePrefix } from './lock-test-kit.js';

describe.each(sharedTopologies)('Semaphore on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('semaphore');
  // Two instances of the service, as two processes of an app.
  const pair = twoInstances(redis, keyPrefix);

  it('never lets more than the limit hold at once: 200 concurrent acquires on one object, limit 5', async () => {
    const semaphore = pair.a.locks.semaphore('crowd', { limit: 5, maxWaitMs: 30_000 });
    let holding = 0;
    let most = 0;
    const tokens: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, () =>
        semaphore.using(async (_signal, permit) => {
          holding += 1;
          most = Math.max(most, holding);
          tokens.push(permit.fencingToken);
          await sleep(2);
          holding -= 1;
        }),
      ),
    );
    expect(most).toBe(5);
    expect(new Set(tokens).size).toBe(200);
    expect(await semaphore.available()).toBe(5);
  }, 60_000);

  it('hands released permits to a waiter of the same object in-process, at most 15 times per grant, tokens rising', async () => {
    const semaphore = pair.a.locks.semaphore('handoff', { limit: 1, maxWaitMs: 10_000 });
    const first = await semaphore.acquire();
    const tokens = [first.fencingToken];
    const ids = [first.id];
    const waiters = Array.from({ length: 20 }, () => semaphore.acquire());
    await sleep(20); // every waiter has made its first attempt and sleeps
    let current = first;
    for (let index = 0; index < 20; index += 1) {
      await current.release();
      current = await Promise.race(
        waiters.map((waiter) =>
          waiter.then((permit) =>
            tokens.includes(permit.fencingToken) ? new Promise<never>(() => {}) : permit,
          ),
        ),
      );
      tokens.push(current.fencingToken);
      ids.push(current.id);
    }
    await current.release();
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(new Set(tokens).size).toBe(21);
    // Hand-overs keep the grant in Redis (its id): its first holder and 15 more; the next came
    // through Redis with a grant of its own.
    expect(new Set(ids.slice(0, 16)).size).toBe(1);
    expect(ids[16]).not.toBe(ids[0]);
    expect(await semaphore.available()).toBe(1);
  });

  it("keeps in-process hand-overs from starving another process's waiter: once it is refused, permits go back through Redis", async () => {
    const busy = pair.a.locks.semaphore('busy', { limit: 2, maxWaitMs: 10_000 });
    let running = true;
    // 16 callers of one instance keep both permits cycling in-process.
    const loops = Array.from({ length: 16 }, async () => {
      while (running) {
        const permit = await busy.acquire();
        await sleep(1);
        await permit.release();
      }
    });
    await sleep(100);
    // With hand-overs alone B never gets in; once A knows it waits, A's first waiter and B's meet
    // the released permits on their timers.
    const other = pair.b.locks.semaphore('busy', { limit: 2, maxWaitMs: 4_000 });
    const waits: number[] = [];
    try {
      for (let round = 0; round < 3; round += 1) {
        const startedAt = Date.now();
        const permit = await other.acquire();
        waits.push(Date.now() - startedAt);
        await permit.release();
      }
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(waits).toHaveLength(3);
    expect(await busy.available()).toBe(2);
  }, 30_000);

  it('holds many permits as one entry: acquire(5000) of 10,000, twice, and not a permit more', async () => {
    const semaphore = pair.a.locks.semaphore('bulk', { limit: 10_000 });
    const first = await semaphore.acquire(5_000);
    expect(await pair.b.locks.semaphore('bulk', { limit: 10_000 }).tryAcquire(5_001)).toBeNull();
    const second = await semaphore.acquire(5_000);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(await semaphore.available()).toBe(0);
    expect(await pair.a.connections[0]!.client.hlen(`${keyPrefix}:semaphore:{bulk}:permits`)).toBe(2);
    expect(await semaphore.tryAcquire(1)).toBeNull();
    expect(await first.release()).toBe(true);
    expect(await semaphore.available()).toBe(5_000);
    expect(await second.release()).toBe(true);
    expect(await semaphore.available()).toBe(10_000);
  });

  it("gives a holder's permits back when its lease ends, and available() says so exactly", async () => {
    const semaphore = pair.a.locks.semaphore('lease', { limit: 3 });
    await semaphore.acquire(3, { ttlMs: 200 }); // never released: its holder "died"
    expect(await semaphore.available()).toBe(0);
    const other = pair.b.locks.semaphore('lease', { limit: 3 });
    const started = Date.now();
    const permit = await other.acquire(2, { maxWaitMs: 5_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await semaphore.available()).toBe(1);
    await permit.release();
    expect(await semaphore.available()).toBe(3);
  });

  it('answers false to extend() of a lost permit, never adds it back, and aborts its signal', async () => {
    const semaphore = pair.a.locks.semaphore('lost', { limit: 1 });
    const permit = await semaphore.acquire(1, { ttlMs: 100 });
    await sleep(150);
    expect(await permit.extend()).toBe(false);
    expect(await semaphore.available()).toBe(1);
    expect(permit.signal.aborted).toBe(true);
    expect(permit.signal.reason).toBeInstanceOf(LockLostError);
    expect(await permit.release()).toBe(false);
    // A live one extends, and keeps its permits past the first lease.
    const live = await semaphore.acquire(1, { ttlMs: 150 });
    await sleep(80);
    expect(await live.extend(1_000)).toBe(true);
    await sleep(120);
    expect(await semaphore.tryAcquire()).toBeNull();
    expect(live.signal.aborted).toBe(false);
    await live.release();
  });

  it('grants in arrival order in fair mode, each waiter woken when its turn comes', async () => {
    const connection = pair.a.connections[0]!;
    const fairA = pair.a.locks.semaphore('fair', { limit: 2, fair: true, maxWaitMs: 10_000 });
    const fairB = pair.b.locks.semaphore('fair', { limit: 2, fair: true, maxWaitMs: 10_000 });
    const holder = await fairA.acquire(2);
    const waiting: Promise<number>[] = [];
    for (let index = 0; index < 6; index += 1) {
      // Alternate instances; each waiter asks for 1 or 2 permits and holds them briefly; the next
      // arrives once it is queued.
      const semaphore = index % 2 === 0 ? fairA : fairB;
      waiting.push(
        semaphore.acquire(index % 3 === 2 ? 2 : 1).then(async (permit) => {
          await sleep(20);
          await permit.release();
          return permit.fencingToken;
        }),
      );
      await eventually(async () =>
        expect(await connection.client.zcard(`${keyPrefix}:semaphore:{fair}:queue`)).toBe(index + 1),
      );
    }
    // Someone arriving later does not jump the queue, even for one permit.
    await holder.release();
    expect(await fairB.tryAcquire(1)).toBeNull();
    // Fencing tokens are issued in grant order: they must rise with the order of arrival.
    const tokens = await Promise.all(waiting);
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(tokens[0]).toBeGreaterThan(holder.fencingToken);
  });

  it('gives up after maxWaitMs with LockNotAcquiredError, leaving the fair queue', async () => {
    const connection = pair.a.connections[0]!;
    const semaphore = pair.a.locks.semaphore('patience', { limit: 1, fair: true });
    const holder = await semaphore.acquire();
    await expect(semaphore.acquire(1, { maxWaitMs: 150 })).rejects.toMatchObject({
      name: 'LockNotAcquiredError',
      reason: 'timeout',
    });
    expect(await connection.client.zcard(`${keyPrefix}:semaphore:{patience}:queue`)).toBe(0);
    const controller = new AbortController();
    const aborted = semaphore.acquire(1, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(aborted).rejects.toBeInstanceOf(LockNotAcquiredError);
    await holder.release();
    expect(await semaphore.available()).toBe(1);
  });

  it('leaves no key without expiry, and nothing once every lease has ended', async () => {
    const connection = pair.a.connections[0]!;
    const semaphore = pair.a.locks.semaphore('tidy', { limit: 2, fair: true });
    const permit = await semaphore.acquire(1, { ttlMs: 200 });
    const keys = await listKeys(connection, `${keyPrefix}:semaphore:{tidy}`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(await connection.client.pttl(key)).toBeGreaterThan(0);
    await permit.release();
    await eventually(
      async () => expect(await listKeys(connection, `${keyPrefix}:semaphore:{tidy}`)).toEqual([]),
      5_000,
    );
  });

  it('refuses bad options and permit counts, naming them', () => {
    expect(() => pair.a.locks.semaphore('bad', { limit: 0 })).toThrow(LockOptionsError);
    expect(() => pair.a.locks.semaphore('bad', { limit: 2.5 })).toThrow(/limit/);
    expect(() => pair.a.locks.semaphore('bad', { limit: 2, ttlMs: -1 })).toThrow(/ttlMs/);
    const semaphore = pair.a.locks.semaphore('bad', { limit: 2 });
    return expect(semaphore.acquire(3)).rejects.toThrow(/permits/);
  });
});
