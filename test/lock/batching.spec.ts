import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LockNotAcquiredError, type Lock } from '@redkit/lock';

import { RedisServer } from '../harness/index.js';
import { deleteKeys, listKeys, openLocks, uniquePrefix, type LockInstance } from './lock-test-kit.js';

/** `calls` of one command in INFO commandstats (0 when it never ran). */
async function commandCalls(instance: LockInstance, command: string): Promise<number> {
  const info = await instance.connections[0]!.client.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match === null ? 0 : Number(match[1]);
}

describe('batched takes and releases (standalone server of its own)', () => {
  const keyPrefix = uniquePrefix('lockbatch');
  let server: RedisServer;
  let instance: LockInstance;
  let rival: LockInstance;

  beforeAll(async () => {
    server = await RedisServer.start();
    instance = await openLocks({ url: server.url, keyPrefix });
    rival = await openLocks({ url: server.url, keyPrefix });
  }, 30_000);

  afterAll(async () => {
    if (instance !== undefined) await deleteKeys(instance.connections[0]!, keyPrefix).catch(() => undefined);
    await rival?.close();
    await instance?.close();
    await server?.stop();
  });

  it('one turn of tryAcquire on distinct and shared resources: one holder per resource, tokens increasing', async () => {
    const resources = Array.from({ length: 60 }, (_, index) => `batch-try:${index}`);
    const previous = new Map<string, number>();
    for (let round = 0; round < 3; round += 1) {
      // Four callers per resource, all in one turn (240 calls from two instances: several batches of at most 32 each).
      const calls = resources.flatMap((resource) =>
        [0, 1, 2, 3].map((caller) =>
          (caller % 2 === 0 ? instance : rival).locks
            .tryAcquire(resource)
            .then((lock) => ({ resource, lock })),
        ),
      );
      const settled = await Promise.all(calls);
      const held = new Map<string, Lock>();
      for (const { resource, lock } of settled) {
        if (lock === null) continue;
        expect(held.has(resource)).toBe(false); // never two holders
        held.set(resource, lock);
      }
      expect(held.size).toBe(resources.length); // and always one: the first of its batch
      for (const [resource, lock] of held) {
        expect(lock.fencingToken).toBeGreaterThan(previous.get(resource) ?? 0);
        previous.set(resource, lock.fencingToken);
      }
      const released = await Promise.all([...held.values()].map((lock) => lock.release()));
      expect(released.every(Boolean)).toBe(true);
    }
    const owners = (await listKeys(instance.connections[0]!, keyPrefix)).filter((key) =>
      key.endsWith(':owner'),
    );
    expect(owners).toEqual([]);
  });

  it('one batch of releases: each gets its own answer, a stale token reports false and frees nothing', async () => {
    const [mine, stale, handed] = await Promise.all([
      instance.locks.acquire('batch-rel:mine'),
      instance.locks.acquire('batch-rel:stale', { ttlMs: 100 }),
      instance.locks.acquire('batch-rel:handed'),
    ]);
    // The stale lock expires and another holder takes it; a waiter of another instance queues for
    // `handed`, to be handed it by the batch's release.
    const thief = await rival.locks.acquire('batch-rel:stale', { maxWaitMs: 5_000 });
    const waiting = rival.locks.acquire('batch-rel:handed', { maxWaitMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Released in one turn: one call of the batch release script.
    const answers = await Promise.all([mine!.release(), stale!.release(), handed!.release()]);
    expect(answers).toEqual([true, false, true]);
    // The stale release freed nothing: the thief still holds it, and only the thief can release it.
    const client = instance.connections[0]!.client;
    const staleOwner = (await listKeys(instance.connections[0]!, keyPrefix)).find((key) =>
      key.endsWith('stale}:owner'),
    );
    expect(staleOwner).toBeDefined();
    expect(await client.get(staleOwner!)).toBe(thief.token);
    const next = await waiting; // handed over by the batch release
    expect(next.fencingToken).toBeGreaterThan(handed!.fencingToken);
    expect(await thief.extend()).toBe(true);
    expect(await thief.release()).toBe(true);
    expect(await next.release()).toBe(true);
  });

  it('coalesces: far fewer EVALSHA calls than acquisitions and releases', async () => {
    const operations = 1_000;
    const before = await commandCalls(instance, 'evalsha');
    let seq = 0;
    const worker = async () => {
      while (seq < operations) {
        const lock = await instance.locks.acquire(`batch-count:${seq++}`);
        expect(await lock.release()).toBe(true);
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    const calls = (await commandCalls(instance, 'evalsha')) - before;
    // 2,000 script runs (a take and a release per operation) in far fewer calls.
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan((2 * operations) / 8);
  });

  it('recovers from a flushed script cache (NOSCRIPT) in batches and lone calls alike', async () => {
    await instance.connections[0]!.client.script('FLUSH');
    const locks = await Promise.all(
      Array.from({ length: 10 }, (_, index) => instance.locks.acquire(`batch-noscript:${index}`)),
    );
    await instance.connections[0]!.client.script('FLUSH');
    expect(await Promise.all(locks.map((lock) => lock.release()))).toEqual(locks.map(() => true));
    await instance.connections[0]!.client.script('FLUSH');
    const lone = await instance.locks.acquire('batch-noscript:lone');
    expect(await lone.release()).toBe(true);
  });
});

describe('batched calls while the server is paused', () => {
  const keyPrefix = uniquePrefix('lockbatchpause');
  let server: RedisServer;
  let instance: LockInstance;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await RedisServer.start();
    instance = await openLocks({ url: server.url, keyPrefix, commandTimeoutMs: 200 });
  }, 30_000);

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await instance?.close();
    await server?.stop();
  });

  it('fails each call of a batch cleanly: unavailable acquisitions, rejected releases, nothing unhandled', async () => {
    const held = await Promise.all(
      Array.from({ length: 10 }, (_, index) => instance.locks.acquire(`paused-held:${index}`)),
    );
    server.pause();
    try {
      const tries = Array.from({ length: 20 }, (_, index) =>
        instance.locks.tryAcquire(`paused-try:${index}`).then(
          () => 'acquired',
          (error: unknown) => error,
        ),
      );
      const acquires = Array.from({ length: 20 }, (_, index) =>
        instance.locks.acquire(`paused-acquire:${index}`, { maxWaitMs: 300, retryDelayMs: 50 }).then(
          () => 'acquired',
          (error: unknown) => error,
        ),
      );
      const releases = held.map((lock) =>
        lock.release().then(
          (released) => released,
          (error: unknown) => error,
        ),
      );
      for (const outcome of [...(await Promise.all(tries)), ...(await Promise.all(acquires))]) {
        expect(outcome).toBeInstanceOf(LockNotAcquiredError);
        expect(outcome).toMatchObject({ reason: 'unavailable' });
      }
      for (const outcome of await Promise.all(releases)) expect(outcome).toBeInstanceOf(Error);
    } finally {
      server.resume();
    }
    // Back: locks can be had (the held ones once their TTL passes; these are new resources).
    const lock = await instance.locks.tryAcquire('paused-after');
    expect(lock).not.toBeNull();
    expect(await lock!.release()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  }, 20_000);
});
