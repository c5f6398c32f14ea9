import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defineFencedScript, FencedOutError, FencedStore, LockOptionsError } from '@redkit/lock';

import { eventually, sharedTopologies } from '../harness/index.js';
import { deleteKeys, listKeys, openLocks, sleep, uniquePrefix, type LockInstance } from './lock-test-kit.js';

const appendScript = defineFencedScript<[entry: string], number>({
  name: 'test_fenced_append',
  numberOfKeys: 2,
  lua: `return redis.call('RPUSH', KEYS[2], ARGV[2])`,
});

describe.each(sharedTopologies)('FencedStore on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('fenced');
  let instance: LockInstance;
  let other: LockInstance; // another instance of the service
  let store: FencedStore;

  beforeAll(async () => {
    instance = await openLocks({ ...redis(), keyPrefix });
    other = await openLocks({ ...redis(), keyPrefix });
    store = new FencedStore(instance.connections[0]!);
  });

  afterAll(async () => {
    await deleteKeys(instance.connections[0]!, keyPrefix);
    await instance?.close();
    await other?.close();
  });

  it("rejects a stale holder's write after a newer token wrote, and keeps the newer value", async () => {
    const stale = await instance.locks.acquire('cart:1', { ttlMs: 100 });
    await store.set('cart:1', 'from the first holder', stale.fencingToken);
    await sleep(150); // the first holder stalls past its lease
    const current = await other.locks.acquire('cart:1', { ttlMs: 5_000, maxWaitMs: 0 });
    await store.set('cart:1', 'from the second holder', current.fencingToken);

    const late = store.set('cart:1', 'late write', stale.fencingToken);
    await expect(late).rejects.toBeInstanceOf(FencedOutError);
    await expect(late).rejects.toMatchObject({
      target: 'cart:1',
      fencingToken: stale.fencingToken,
      highestToken: current.fencingToken,
    });
    expect(await store.get('cart:1')).toBe('from the second holder');
    expect(await store.highestToken('cart:1')).toBe(current.fencingToken);
    await current.release();
  });

  it('lets a holder write again with the same token', async () => {
    const lock = await instance.locks.acquire('counter', { ttlMs: 5_000 });
    await store.set('counter', '1', lock.fencingToken);
    await store.set('counter', '2', lock.fencingToken);
    expect(await store.get('counter')).toBe('2');
    await lock.release();
  });

  it('sets hash fields under the same check, merging with the fields already there', async () => {
    await store.hset('profile', { name: 'ann', visits: 1 }, 100);
    await store.hset('profile', { visits: 2 }, 200);
    await expect(store.hset('profile', { name: 'stale' }, 150)).rejects.toBeInstanceOf(FencedOutError);
    expect(await store.hgetall('profile')).toEqual({ name: 'ann', visits: '2' });
  });

  it('expires the value and its fence record together, and deletes them together', async () => {
    const connection = instance.connections[0]!;
    await store.set('session', 'x', 10, { ttlMs: 200 });
    const keys = await listKeys(connection, `${keyPrefix}:fenced:{session}`);
    expect(keys.sort()).toEqual([
      `${keyPrefix}:fenced:{session}:fence`,
      `${keyPrefix}:fenced:{session}:value`,
    ]);
    for (const key of keys) expect(await connection.client.pttl(key)).toBeGreaterThan(0);
    await eventually(async () =>
      expect(await listKeys(connection, `${keyPrefix}:fenced:{session}`)).toEqual([]),
    );

    await store.set('gone', 'y', 20);
    await expect(store.delete('gone', 10)).rejects.toBeInstanceOf(FencedOutError);
    expect(await store.delete('gone', 20)).toBe(true);
    expect(await listKeys(connection, `${keyPrefix}:fenced:{gone}`)).toEqual([]);
    expect(await store.highestToken('gone')).toBe(0);
  });

  it('runs a fenced script of your own: the check and the write in one call', async () => {
    const keys = [`${keyPrefix}:journal:{j}:fence`, `${keyPrefix}:journal:{j}:entries`];
    const client = instance.connections[0]!.client;
    expect(await appendScript.run(client, keys, 5, ['a'])).toBe(1);
    expect(await appendScript.run(client, keys, 7, ['b'])).toBe(2);
    await expect(appendScript.run(client, keys, 6, ['late'], 'journal j')).rejects.toMatchObject({
      target: 'journal j',
      highestToken: 7,
    });
    expect(await client.lrange(keys[1]!, 0, -1)).toEqual(['a', 'b']);
    await client.del(...keys);
  });

  it('refuses a token or ttl that is not a positive whole number, naming it, before writing', async () => {
    await expect(store.set('bad', 'v', 0)).rejects.toThrow(LockOptionsError);
    await expect(store.set('bad', 'v', 1.5)).rejects.toThrow(/fencingToken/);
    await expect(store.set('bad', 'v', 1, { ttlMs: -1 })).rejects.toThrow(/ttlMs/);
    await expect(store.hset('bad', {}, 1)).rejects.toThrow(/fields/);
    expect(await store.get('bad')).toBeNull();
  });
});
