import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection, RedisKeyspace, defineScript, scanKeys } from '@redkit/redis';
import { Cluster } from 'ioredis';

import { sharedAdminRedisUrl, sharedClusterNodes, sharedTopologies } from '../harness/index.js';

// -- KEYS[1] counter, KEYS[2] log (same hash tag)
// -- ARGV[1] increment
// -- returns the new counter value, after appending it to the log
const incrementAndLog = defineScript<[increment: number], number>({
  name: 'test_increment_and_log',
  numberOfKeys: 2,
  lua: `-- KEYS[1] counter, KEYS[2] log; ARGV[1] increment; returns the new counter value
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], value)
return value`,
});

const countKeys = defineScript<[], number>({
  name: 'test_count_keys',
  numberOfKeys: 'variable',
  lua: `-- KEYS any number (one hash tag); ARGV none; returns how many keys it was given
return #KEYS`,
});

describe.each(sharedTopologies)('scripts on %s', (_name, options) => {
  let connection: RedisConnection;
  let keys: RedisKeyspace;
  const run = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    connection = await RedisConnection.open('scripts', { ...options(), keyPrefix: 'redkit-test' });
    keys = connection.keyspace('scripts');
  });

  afterAll(async () => {
    for await (const batch of scanKeys(connection.client, keys.pattern())) {
      await Promise.all(batch.map((key) => connection.client.del(key)));
    }
    await connection.close();
  });

  /** SCRIPT FLUSH is @dangerous: sent as the servers' default user, not the modules' ACL user. */
  async function flushScriptCaches(): Promise<void> {
    const admin = await RedisConnection.open(
      'scripts-admin',
      connection.client instanceof Cluster
        ? { cluster: { nodes: sharedClusterNodes() } }
        : { url: sharedAdminRedisUrl() },
    );
    try {
      const { client } = admin;
      const nodes = client instanceof Cluster ? client.nodes('master') : [client];
      await Promise.all(nodes.map((node) => node.script('FLUSH')));
    } finally {
      await admin.close();
    }
  }

  it('runs a registered script by EVALSHA with keys that share a hash tag', async () => {
    const tag = `counter-${run}`;
    const counter = keys.tagged(tag, 'value');
    const log = keys.tagged(tag, 'log');
    expect(await incrementAndLog.run(connection.client, [counter, log], [5])).toBe(5);
    expect(await incrementAndLog.run(connection.client, [counter, log], [2])).toBe(7);
    expect(await connection.client.lrange(log, 0, -1)).toEqual(['5', '7']);
  });

  it('passes each call its own key count for a variable-key script, through run and runNow', async () => {
    const tag = `variable-${run}`;
    const three = [keys.tagged(tag, 'a'), keys.tagged(tag, 'b'), keys.tagged(tag, 'c')];
    expect(await countKeys.run(connection.client, three.slice(0, 1), [])).toBe(1);
    expect(await countKeys.run(connection.client, three, [])).toBe(3);
    expect(await countKeys.runNow(connection.client, three.slice(0, 2), [])).toBe(2);
    await flushScriptCaches();
    expect(await countKeys.runNow(connection.client, three, [])).toBe(3);
    expect(await incrementAndLog.runNow(connection.client, three.slice(0, 2), [4])).toBe(4);
    await expect(incrementAndLog.runNow(connection.client, three, [1])).rejects.toThrow(
      /takes 2 keys, got 3/,
    );
  });

  it('still runs after SCRIPT FLUSH, recovering from NOSCRIPT, and is cached again afterwards', async () => {
    const tag = `flush-${run}`;
    const bound = incrementAndLog.bind(connection.client);
    await bound([keys.tagged(tag, 'value'), keys.tagged(tag, 'log')], [1]);
    await flushScriptCaches();
    expect(await bound([keys.tagged(tag, 'value'), keys.tagged(tag, 'log')], [1])).toBe(2);
    const node =
      connection.client instanceof Cluster ? connection.client.nodes('master') : [connection.client];
    const cached = await Promise.all(
      node.map((n) => n.script('EXISTS', incrementAndLog.sha1) as Promise<number[]>),
    );
    expect(cached.some(([exists]) => exists === 1)).toBe(true);
  });

  it('refuses a call with the wrong number of keys before it reaches Redis', async () => {
    await expect(incrementAndLog.run(connection.client, ['only-one'], [1])).rejects.toThrow(
      'script test_increment_and_log takes 2 keys, got 1',
    );
  });

  it('finds keys on every node with SCAN', async () => {
    const written = Array.from({ length: 30 }, (_, index) => keys.key(`scan-${run}`, String(index)));
    await Promise.all(written.map((key) => connection.client.set(key, '1')));
    const found: string[] = [];
    for await (const batch of scanKeys(connection.client, `${keys.base}scan-${run}:*`)) found.push(...batch);
    expect(new Set(found)).toEqual(new Set(written));
  });
});
