// Fencing without leftovers: a resource that is locked and released leaves no key without an expiry,
// and its fencing tokens still strictly increase after its counter expired or was evicted.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Lock } from '@redkit/lock';
import type { RedisConnection } from '@redkit/redis';

import { eventually, RedisServer, sharedTopologies } from '../harness/index.js';
import { deleteKeys, listKeys, openLocks, uniquePrefix, type LockInstance } from './lock-test-kit.js';

/** Keys under the prefix that have no expiry (PTTL -1). */
async function keysWithoutExpiry(connection: RedisConnection, prefix: string): Promise<string[]> {
  const keys = await listKeys(connection, prefix);
  const ttls: number[] = [];
  // In slices: 20,000 PTTLs at once can outlast the command timeout on a loaded machine.
  for (let start = 0; start < keys.length; start += 1_000) {
    ttls.push(
      ...(await Promise.all(keys.slice(start, start + 1_000).map((key) => connection.client.pttl(key)))),
    );
  }
  return keys.filter((_, index) => ttls[index] === -1);
}

/** Acquires and releases `resource` once; resolves with the lock's fencing token. */
async function lockOnce(instance: LockInstance, resource: string, ttlMs = 5_000): Promise<number> {
  const lock: Lock = await instance.locks.acquire(resource, { ttlMs });
  await lock.release();
  return lock.fencingToken;
}

describe.each(sharedTopologies)('fencing on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('fencing');
  let instance: LockInstance;

  beforeAll(async () => {
    // 500 locks in flight on a loaded machine (three Node lines side by side) may queue for seconds.
    instance = await openLocks({ ...redis(), keyPrefix, commandTimeoutMs: 15_000 });
  });

  afterAll(async () => {
    await deleteKeys(instance.connections[0]!, keyPrefix);
    await instance?.close();
  });

  it('leaves no key without expiry after 20,000 resources were locked and released', async () => {
    const resources = Array.from({ length: 20_000 }, (_, index) => `order:${index}`);
    for (let start = 0; start < resources.length; start += 500) {
      await Promise.all(resources.slice(start, start + 500).map((resource) => lockOnce(instance, resource)));
    }
    const connection = instance.connections[0]!;
    expect(await keysWithoutExpiry(connection, keyPrefix)).toEqual([]);
    // What is left is the fence counters, each about to expire (the lease plus a second of grace).
    const left = await listKeys(connection, keyPrefix);
    expect(left.every((key) => key.endsWith(':fence'))).toBe(true);
    expect(
      Math.max(...(await Promise.all(left.slice(0, 100).map((key) => connection.client.pttl(key))))),
    ).toBeLessThanOrEqual(6_000);
  }, 60_000);

  it('keeps tokens of a resource strictly increasing after its fence counter expired', async () => {
    const connection = instance.connections[0]!;
    const fenceKey = `${keyPrefix}:lock:{gap}:fence`;
    const first = await lockOnce(instance, 'gap', 100);
    expect(await connection.client.exists(fenceKey)).toBe(1);
    // The counter lives 100 ms + 1 s of grace after its last use; then nothing of 'gap' is left.
    await eventually(async () => expect(await connection.client.exists(fenceKey)).toBe(0), 5_000);
    expect(await listKeys(connection, `${keyPrefix}:lock:{gap}`)).toEqual([]);
    const second = await lockOnce(instance, 'gap', 100);
    expect(second).toBeGreaterThan(first);
    const third = await lockOnce(instance, 'gap', 100);
    expect(third).toBeGreaterThan(second);
  });
});

describe('fencing under maxmemory eviction (allkeys-lru)', () => {
  const keyPrefix = uniquePrefix('evict');
  let server: RedisServer;
  let instance: LockInstance;

  beforeAll(async () => {
    server = await RedisServer.start({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru'] });
    instance = await openLocks({ url: server.url, keyPrefix });
  });

  afterAll(async () => {
    await instance?.close();
    await server?.stop();
  });

  it('keeps tokens of a resource strictly increasing when Redis evicts its fence counter', async () => {
    const connection = instance.connections[0]!;
    const fenceKey = `${keyPrefix}:lock:{hot}:fence`;
    const filler = 'x'.repeat(10_000);
    let previous = 0;
    let evictions = 0;
    for (let round = 0; round < 5; round += 1) {
      const token = await lockOnce(instance, 'hot');
      expect(token).toBeGreaterThan(previous);
      previous = token;
      // Fill memory until the least recently used keys, the counter first among ours, are evicted.
      for (let batch = 0; (await connection.client.exists(fenceKey)) === 1; batch += 1) {
        if (batch > 200) throw new Error('the fence counter was never evicted');
        const pipeline = connection.client.pipeline();
        for (let index = 0; index < 100; index += 1)
          pipeline.set(`filler:${round}:${batch}:${index}`, filler);
        await pipeline.exec();
      }
      evictions += 1;
    }
    expect(evictions).toBe(5);
    const info = await connection.client.info('stats');
    expect(Number(/evicted_keys:(\d+)/.exec(info)?.[1])).toBeGreaterThan(0);
    expect(await lockOnce(instance, 'hot')).toBeGreaterThan(previous);
  }, 60_000);
});
