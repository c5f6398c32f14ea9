import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection } from '@redkit/redis';

import { eventually, RedisClusterServers } from '../harness/index.js';

/** 'settled' once `promise` settles either way, 'pending' if it is still waiting after `ms`. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  const settled = promise.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  const pending = new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms).unref());
  return Promise.race([settled, pending]);
}

describe('a cluster connection when every master restarts', () => {
  let cluster: RedisClusterServers;
  let connection: RedisConnection;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start();
    connection = await RedisConnection.open('cluster-restart', {
      cluster: { nodes: cluster.nodes },
      commandTimeoutMs: 1000,
    });
  });

  afterAll(async () => {
    await connection?.close();
    await cluster?.stop();
  });

  it('settles every command within its timeout meanwhile, and works again afterwards', async () => {
    await connection.client.set('restart:key', 'before');
    for (const server of cluster.servers) await server.kill();
    for (const server of cluster.servers) await server.restart();
    // ioredis parks auto-pipelines whose node restarted until a slots refresh it may never make;
    // without redkit's bound this first command never settled while the cluster said "ready".
    // The margin is generous: this checks for a hang, not for speed.
    expect(await settledWithin(connection.client.set('restart:key', 'during'), 5_000)).toBe('settled');
    await eventually(
      async () => {
        await connection.client.set('restart:key', 'after');
        expect(await connection.client.get('restart:key')).toBe('after');
      },
      20_000,
      250,
    );
    await connection.client.del('restart:key');
  });
});
