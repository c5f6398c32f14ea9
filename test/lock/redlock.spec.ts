import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LockNotAcquiredError } from '@redkit/lock';
import { RedisConnection } from '@redkit/redis';

import { RedisServer, eventually } from '../harness/index.js';
import { listKeys, openLocks, sleep, uniquePrefix, type LockInstance } from './lock-test-kit.js';

describe('Redlock mode over 5 independent servers', () => {
  const keyPrefix = uniquePrefix('redlock');
  const servers: RedisServer[] = [];
  let instance: LockInstance;
  let other: LockInstance;

  beforeAll(async () => {
    servers.push(...(await Promise.all(Array.from({ length: 5 }, () => RedisServer.start()))));
    const options = servers.map((server) => ({ url: server.url, keyPrefix, commandTimeoutMs: 300 }));
    instance = await openLocks(options, { retryDelayMs: 20, maxRetryDelayMs: 50 });
    other = await openLocks(options, { retryDelayMs: 20, maxRetryDelayMs: 50 });
  }, 60_000);

  afterAll(async () => {
    await instance?.close();
    await other?.close();
    await Promise.all(servers.map((server) => server.stop()));
  });

  /** Waits until both instances talk to every server again (after a restart they reconnect with back-off). */
  async function allConnected(): Promise<void> {
    await eventually(async () => {
      await Promise.all(
        [...instance.connections, ...other.connections].map((connection) => connection.client.ping()),
      );
    });
  }

  async function keysOnEveryServer(): Promise<string[][]> {
    return Promise.all(
      servers.map(async (server) => {
        const connection = await RedisConnection.open('check', { url: server.url, keyPrefix });
        try {
          return (await listKeys(connection, keyPrefix)).filter((key) => !key.endsWith(':fence'));
        } finally {
          await connection.close();
        }
      }),
    );
  }

  it('uses a quorum of 3 of 5', () => {
    expect(instance.locks.mode).toBe('redlock');
    expect(instance.locks.quorum).toBe(3);
  });

  it('excludes a second holder and hands out increasing fencing tokens', async () => {
    const lock = await instance.locks.acquire('quorum', { ttlMs: 5_000 });
    expect(await other.locks.tryAcquire('quorum')).toBeNull();
    expect(lock.expiresAt).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(await lock.extend(5_000)).toBe(true);
    expect(await lock.release()).toBe(true);
    const next = await other.locks.acquire('quorum', { ttlMs: 5_000 });
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    expect(await lock.release()).toBe(true); // the first answer, not a second release
    expect(await lock.extend()).toBe(false);
    await next.release();
  });

  it('keeps fencing tokens increasing when the servers counted differently', async () => {
    // One server's counter runs ahead (it saw acquisitions the others did not).
    const ahead = await RedisConnection.open('ahead', { url: servers[0]!.url, keyPrefix });
    await ahead.client.set(`${keyPrefix}:lock:{skewed}:fence`, '100');
    await ahead.close();
    const first = await instance.locks.acquire('skewed');
    expect(first.fencingToken).toBeGreaterThanOrEqual(101);
    await first.release();
    await servers[0]!.kill(); // the server that was ahead is gone: the rest must still count past it
    const second = await other.locks.acquire('skewed');
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
    await servers[0]!.restart();
    await allConnected();
  });

  it('still acquires with 2 of 5 servers killed', async () => {
    await allConnected();
    await servers[3]!.kill();
    await servers[4]!.kill();
    try {
      const lock = await instance.locks.acquire('two-down', { ttlMs: 5_000 });
      expect(await other.locks.tryAcquire('two-down')).toBeNull();
      expect(await lock.release()).toBe(true);
    } finally {
      await servers[3]!.restart();
      await servers[4]!.restart();
      await allConnected();
    }
  });

  it('fails with LockNotAcquiredError with 3 of 5 killed, leaving no partial lock once they return', async () => {
    await allConnected();
    await Promise.all([servers[2]!.kill(), servers[3]!.kill(), servers[4]!.kill()]);
    const error = await instance.locks
      .acquire('three-down', { ttlMs: 5_000, maxWaitMs: 300 })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(LockNotAcquiredError);
    expect(error).toMatchObject({ resource: 'three-down', reason: 'unavailable' });
    expect((error as LockNotAcquiredError).attempts).toBeGreaterThan(1);
    await Promise.all([servers[2]!.restart(), servers[3]!.restart(), servers[4]!.restart()]);
    // No server holds an owner key for it: the failed rounds released what they had taken.
    expect((await keysOnEveryServer()).flat().filter((key) => key.includes('three-down'))).toEqual([]);
    // And once the servers are back, the lock can be had again.
    const lock = await eventually(() => instance.locks.acquire('three-down', { maxWaitMs: 500 }));
    await lock.release();
  });

  it('reports a lock whose quorum expired as lost on extend', async () => {
    const lock = await instance.locks.acquire('expire', { ttlMs: 100 });
    await sleep(150);
    expect(await lock.extend(1_000)).toBe(false);
    expect(await lock.release()).toBe(false);
  });
});
