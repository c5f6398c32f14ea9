import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection } from '@redkit/redis';

import { RedisServer, sharedTopologies } from '../harness/index.js';
import { deleteKeys, openCache, uniquePrefix, type CacheInstance } from './cache-test-kit.js';

/** Calls of `command` the server has run, from INFO commandstats. */
async function commandCalls(connection: RedisConnection, command: string): Promise<number> {
  const info = await connection.client.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

describe.each(sharedTopologies)('coalesced L2 reads on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('l2batch');
  let writer: CacheInstance;
  let reader: CacheInstance;

  beforeAll(async () => {
    writer = await openCache({ ...redis(), keyPrefix });
    reader = await openCache({ ...redis(), keyPrefix }, { l1MaxEntries: 1 });
  });

  afterAll(async () => {
    await deleteKeys(writer.connection, keyPrefix);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('answers each of 300 concurrent L1 misses with its own key, misses included', async () => {
    const keys = Array.from({ length: 300 }, (_, index) => `item:${index}`);
    await Promise.all(
      keys.map((key, index) => (index % 3 === 0 ? undefined : writer.cache.set(key, { key, index }))),
    );
    const values = await Promise.all(keys.map((key) => reader.cache.get(key)));
    values.forEach((value, index) => {
      expect(value).toEqual(index % 3 === 0 ? undefined : { key: keys[index], index });
    });
  });
});

describe('coalesced L2 reads on an own standalone server', () => {
  let server: RedisServer;
  let instance: CacheInstance;

  beforeAll(async () => {
    server = await RedisServer.start();
    instance = await openCache({ url: server.url, keyPrefix: 'batch' }, { l1MaxEntries: 1 });
  });

  afterAll(async () => {
    await instance?.close();
    await server?.stop();
  });

  it('reads the L1 misses of one event-loop turn with MGETs of at most 32 keys instead of one GET each', async () => {
    const keys = Array.from({ length: 100 }, (_, index) => `k${index}`);
    await Promise.all(keys.map((key) => instance.cache.set(key, key)));
    const [getsBefore, mgetsBefore] = await Promise.all([
      commandCalls(instance.connection, 'get'),
      commandCalls(instance.connection, 'mget'),
    ]);
    const values = await Promise.all(keys.map((key) => instance.cache.get(key)));
    expect(values).toEqual(keys);
    // 100 misses: MGETs of 32, 32, 32 and 4 keys.
    expect(await commandCalls(instance.connection, 'mget')).toBe(mgetsBefore + 4);
    expect(await commandCalls(instance.connection, 'get')).toBe(getsBefore);
  });

  it('fails every read of a batch the server does not answer, and the cache answers undefined', async () => {
    const keys = ['x1', 'x2', 'x3'];
    await Promise.all(keys.map((key) => instance.cache.set(key, key)));
    await instance.cache.set('filler', 'f');
    await instance.cache.get('filler'); // evicts x1..x3 from the one-entry L1
    server.pause();
    try {
      const values = await Promise.all(keys.map((key) => instance.cache.get(key)));
      expect(values).toEqual([undefined, undefined, undefined]);
    } finally {
      server.resume();
    }
    expect(await Promise.all(keys.map((key) => instance.cache.get(key)))).toEqual(keys);
  });
});
