import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import Redlock from 'redlock';

import { sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, openLocks, uniquePrefix, type LockInstance } from './lock-test-kit.js';

// Why redkit runs its own scripts on each server instead of leaning on the `redlock` package
// (5.0.0-beta.2, the version installed): it counts a lock's validity from before its retries, so a
// lock won after waiting longer than its duration comes back already expired (node-redlock issues
// 169, 283, 296). redkit counts from the start of the round that won.
describe('the redlock package, as evaluated for Redlock mode', () => {
  const keyPrefix = uniquePrefix('redlockpkg');
  let client: Redis;
  let redkit: LockInstance;

  beforeAll(async () => {
    // No ready check: it sends INFO, which the least-privilege user of the shared server lacks.
    client = new Redis(sharedRedisUrl(), { enableReadyCheck: false });
    redkit = await openLocks({ url: sharedRedisUrl(), keyPrefix }, { retryDelayMs: 50 });
  });

  afterAll(async () => {
    await deleteKeys(redkit.connections[0]!, keyPrefix);
    await redkit?.close();
    client.disconnect();
  });

  it('hands out an already-expired lock after waiting longer than its duration; redkit does not', async () => {
    const resource = `${keyPrefix}:pkg`;
    // Someone holds the resource for 400 ms.
    await client.set(resource, 'someone-else', 'PX', 400);
    const redlock = new Redlock([client], { retryDelay: 50, retryJitter: 0, retryCount: 40 });
    const lock = await redlock.acquire([resource], 200);
    // Valid for 200 ms "from now", by its own account, yet its expiration is already behind us.
    expect(lock.expiration).toBeLessThan(Date.now());
    await lock.release().catch(() => undefined);

    const held = await redkit.locks.acquire('pkg', { ttlMs: 400 });
    const waited = await redkit.locks.acquire('pkg', { ttlMs: 200, maxWaitMs: 5_000 });
    expect(waited.expiresAt).toBeGreaterThan(Date.now());
    await held.release();
    await waited.release();
  });
});
