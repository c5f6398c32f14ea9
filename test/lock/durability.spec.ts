// Issue 19: durable mode (`durability: { replicas, timeoutMs }`, every granting write followed by WAIT)
// on a primary with one replica, and fencing tokens across the promotion of a stale replica.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  FencedStore,
  LockDurabilityError,
  LockModule,
  LockOptionsError,
  LockService,
  type Lock,
} from '@redkit/lock';
import { clusterKeySlot, RedisConnection, RedisModule } from '@redkit/redis';
import { Redis } from 'ioredis';

import { eventually, metricValue, RedisClusterServers, RedisServer, uniquePrefix } from '../harness/index.js';
import {
  admin,
  startPrimary,
  startReplica,
  waitCalls,
  startReplicatedPair,
  stopReplicatedPair,
  rejectedOption,
  waitUntilNoReplica,
  replicatedPairPerTest,
} from '../harness/replication.js';
import { freePort } from '../harness/free-port.js';
import { openLocks, type LockInstance } from './lock-test-kit.js';

const DURABILITY = { replicas: 1, timeoutMs: 300 };
const ACKNOWLEDGED_GRANTS = 'redkit_lock_durability_total{operation="acquire",outcome="acknowledged"}';
/** Far above what a durable failure takes: a call that retried until maxWaitMs would show. */
const MAX_WAIT_MS = 20_000;

async function cutOff(client: Redis): Promise<void> {
  await client.call('REPLICAOF', '127.0.0.1', String(await freePort()));
}

describe('durable locks on a primary with one replica', () => {
  const keyPrefix = uniquePrefix('durable');
  const ownerKey = (resource: string) => `${keyPrefix}:lock:{${resource}}:owner`;
  let primary: RedisServer;
  let replica: RedisServer;
  let onPrimary: Redis;
  let onReplica: Redis;
  let durable: LockInstance;
  let other: LockInstance; // a second durable instance of the app
  let plain: LockInstance; // the default mode, same server
  let store: FencedStore;
  let kept: Lock; // acquired while the replica is up, extended once it is down

  beforeAll(async () => {
    ({ primary, replica, onPrimary, onReplica } = await startReplicatedPair());
    const options = { durability: DURABILITY, maxWaitMs: MAX_WAIT_MS };
    durable = await openLocks({ url: primary.url, keyPrefix }, options);
    other = await openLocks({ url: primary.url, keyPrefix }, options);
    plain = await openLocks({ url: primary.url, keyPrefix });
    store = new FencedStore(durable.connections[0]!, { durability: DURABILITY }, durable.metrics);
  });

  afterAll(async () => {
    await Promise.all([durable?.close(), other?.close(), plain?.close()]);
    await stopReplicatedPair({ primary, replica, onPrimary, onReplica });
  });

  it('refuses durability options it cannot meet, naming the option', () => {
    const connection = durable.connections[0]!;
    const option = (options: object, connections: RedisConnection[] = [connection]) =>
      rejectedOption(() => new LockService(connections, options), LockOptionsError);
    expect(option({ durability: { replicas: 0 } })).toBe('durability.replicas');
    // Half the connection's commandTimeoutMs (1 000 ms here) at most.
    expect(option({ durability: { replicas: 1, timeoutMs: 501 } })).toBe('durability.timeoutMs');
    expect(option({ durability: DURABILITY }, [connection, connection])).toBe('durability');
    expect(() => new FencedStore(connection, { durability: { replicas: 1.5 } })).toThrow(
      'durability.replicas',
    );
    expect(new LockService(connection, { durability: { replicas: 2 } }).durability).toEqual({
      replicas: 2,
      timeoutMs: 500,
    });
  });

  describe('with the replica up', () => {
    it('resolves a durable acquisition once the replica holds the lock', async () => {
      const lock = await durable.locks.acquire('order-1', { ttlMs: 10_000 });
      expect(await onReplica.get(ownerKey('order-1'))).toBe(lock.token);
      expect(Number(await onReplica.get(`${keyPrefix}:lock:{order-1}:fence`))).toBeGreaterThanOrEqual(
        lock.fencingToken,
      );
      await lock.release();
      const tried = await durable.locks.tryAcquire('order-2');
      expect(await onReplica.get(ownerKey('order-2'))).toBe(tried?.token);
      await tried?.release();
      expect(await metricValue(durable.metrics, ACKNOWLEDGED_GRANTS)).toBeGreaterThanOrEqual(2);
    });

    it('confirms on the replica a lock handed over by a release before resolving', async () => {
      const held = await durable.locks.acquire('handed', { ttlMs: 10_000 });
      const acknowledged = await metricValue(other.metrics, ACKNOWLEDGED_GRANTS);
      const waiting = other.locks.acquire('handed', { ttlMs: 10_000 });
      await eventually(async () => expect(await onPrimary.zcard(`${keyPrefix}:lock:{handed}:queue`)).toBe(1));
      await held.release();
      const next = await waiting;
      expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
      expect(await onReplica.get(ownerKey('handed'))).toBe(next.token);
      // The grant was the releaser's write: the waiter confirmed it with one of its own, waited for.
      expect(await metricValue(other.metrics, ACKNOWLEDGED_GRANTS)).toBe(acknowledged + 1);
      await next.release();
    });

    it('extends a durable lock with the extension on the replica', async () => {
      kept = await durable.locks.acquire('kept', { ttlMs: 2_000 });
      expect(await kept.extend(60_000)).toBe(true);
      expect(await onReplica.pttl(ownerKey('kept'))).toBeGreaterThan(10_000);
    });

    it('keeps in-process hand-overs and their renewals on the replica, tokens increasing', async () => {
      const fences: number[] = [];
      await Promise.all(
        Array.from({ length: 200 }, () =>
          durable.locks.acquire('busy', { ttlMs: 10_000 }).then(async (lock) => {
            fences.push(lock.fencingToken);
            await lock.release();
          }),
        ),
      );
      expect(fences).toHaveLength(200);
      for (let index = 1; index < fences.length; index += 1)
        expect(fences[index]).toBeGreaterThan(fences[index - 1]!);
      // Every token handed out was reserved by a write the replica acknowledged.
      expect(Number(await onReplica.get(`${keyPrefix}:lock:{busy}:fence`))).toBeGreaterThanOrEqual(
        fences.at(-1)!,
      );
    });

    it('writes fenced values that are on the replica when the write resolves', async () => {
      const lock = await durable.locks.acquire('cart', { ttlMs: 10_000 });
      await store.set('cart', 'two items', lock.fencingToken, { ttlMs: 60_000 });
      expect(await onReplica.get(`${keyPrefix}:fenced:{cart}:value`)).toBe('two items');
      await store.hset('profile', { name: 'ann' }, lock.fencingToken);
      expect(await onReplica.hget(`${keyPrefix}:fenced:{profile}:value`, 'name')).toBe('ann');
      expect(await store.delete('profile', lock.fencingToken)).toBe(true);
      expect(await onReplica.exists(`${keyPrefix}:fenced:{profile}:value`)).toBe(0);
      await lock.release();
      expect(
        await metricValue(
          durable.metrics,
          'redkit_lock_durability_total{operation="write",outcome="acknowledged"}',
        ),
      ).toBe(3);
    });

    it('grants durable semaphore permits that are on the replica', async () => {
      const pool = durable.locks.semaphore('pool', { limit: 2 });
      const permit = await pool.acquire(1, { ttlMs: 10_000 });
      expect(await onReplica.zscore(`${keyPrefix}:semaphore:{pool}:holders`, permit.id)).not.toBeNull();
      expect(await permit.extend(20_000)).toBe(true);
      await permit.release();
    });

    it('confirms on the replica fair-mode permits granted by a release before resolving', async () => {
      const holder = await durable.locks.semaphore('fair-pool', { limit: 1, fair: true }).acquire();
      const acknowledged = await metricValue(other.metrics, ACKNOWLEDGED_GRANTS);
      const waiting = other.locks.semaphore('fair-pool', { limit: 1, fair: true }).acquire();
      await eventually(async () =>
        expect(await onPrimary.zcard(`${keyPrefix}:semaphore:{fair-pool}:queue`)).toBe(1),
      );
      await holder.release();
      const next = await waiting;
      expect(next.fencingToken).toBeGreaterThan(holder.fencingToken);
      expect(await onReplica.zscore(`${keyPrefix}:semaphore:{fair-pool}:holders`, next.id)).not.toBeNull();
      expect(await metricValue(other.metrics, ACKNOWLEDGED_GRANTS)).toBe(acknowledged + 1);
      await next.release();
    });
  });

  describe('with the replica stopped', () => {
    beforeAll(async () => {
      await replica.kill();
      await waitUntilNoReplica(onPrimary);
    });

    it('rejects a durable acquisition typed at once, and leaves the lock free', async () => {
      const startedAt = Date.now();
      const failure = await durable.locks.acquire('lost').catch((error: unknown) => error);
      expect(Date.now() - startedAt).toBeLessThan(MAX_WAIT_MS);
      expect(failure).toBeInstanceOf(LockDurabilityError);
      expect(failure).toMatchObject({ target: 'lost', operation: 'acquire', acknowledged: 0, replicas: 1 });
      expect(await onPrimary.exists(ownerKey('lost'))).toBe(0);
      await expect(durable.locks.tryAcquire('lost')).rejects.toBeInstanceOf(LockDurabilityError);
      const free = await plain.locks.tryAcquire('lost');
      expect(free).not.toBeNull();
      await free?.release();
    });

    it('fails concurrent durable acquisitions after one WAIT per group, not one per call', async () => {
      await onPrimary.config('RESETSTAT');
      const resources = Array.from({ length: 30 }, (_, index) => `crowd-${index}`);
      const outcomes = await Promise.all([
        ...resources.map((resource) => durable.locks.acquire(resource).catch((error: unknown) => error)),
        // Callers of one resource queue in-process behind the first and fail with it.
        ...Array.from({ length: 10 }, () => durable.locks.acquire('hot').catch((error: unknown) => error)),
      ]);
      expect(outcomes.every((outcome) => outcome instanceof LockDurabilityError)).toBe(true);
      expect(await waitCalls(onPrimary)).toBeLessThanOrEqual(2);
      for (const resource of [...resources, 'hot'])
        expect(await onPrimary.exists(ownerKey(resource))).toBe(0);
    });

    it('rejects a durable extension typed and leaves the lease estimate where it was', async () => {
      const expiresAt = kept.expiresAt;
      await expect(kept.extend(60_000)).rejects.toMatchObject({ operation: 'extend', target: 'kept' });
      expect(kept.expiresAt).toBe(expiresAt);
      expect(await kept.release()).toBe(true);
    });

    it('rejects a durable semaphore grant typed and gives the permits back', async () => {
      const pool = durable.locks.semaphore('pool-down', { limit: 3 });
      await expect(pool.acquire(2)).rejects.toBeInstanceOf(LockDurabilityError);
      await expect(pool.tryAcquire(1)).rejects.toBeInstanceOf(LockDurabilityError);
      expect(await pool.available()).toBe(3);
    });

    it('rejects a durable fenced write typed; the write may still stand on the primary', async () => {
      const lock = await plain.locks.acquire('cart-down');
      const failure = await store
        .set('cart-down', 'maybe', lock.fencingToken)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(LockDurabilityError);
      expect(failure).toMatchObject({ target: 'cart-down', operation: 'write', acknowledged: 0 });
      // Unknown, like a timeout: here it did land on the primary.
      expect(await store.get('cart-down')).toBe('maybe');
      await lock.release();
      expect(
        await metricValue(
          durable.metrics,
          'redkit_lock_durability_total{operation="write",outcome="unacknowledged"}',
        ),
      ).toBe(1);
    });

    it('leaves the default mode as it was: no WAIT, locks granted at once', async () => {
      await onPrimary.config('RESETSTAT');
      const lock = await plain.locks.acquire('plain', { ttlMs: 5_000 });
      await new FencedStore(plain.connections[0]!).set('plain', 'written', lock.fencingToken);
      expect(await lock.release()).toBe(true);
      expect(await waitCalls(onPrimary)).toBe(0);
    });
  });
});

describe('durable locks on a Cluster with a replica per master', () => {
  const keyPrefix = uniquePrefix('durablecluster');
  let cluster: RedisClusterServers;
  let durable: LockInstance;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start({ replicas: 1 });
    durable = await openLocks(
      { cluster: { nodes: cluster.nodes }, keyPrefix },
      { durability: DURABILITY, maxWaitMs: MAX_WAIT_MS },
    );
  }, 60_000);

  afterAll(async () => {
    await durable?.close();
    await cluster?.stop();
  });

  it("waits on each lock's own master: only the master whose replica is down fails", async () => {
    const resources = Array.from({ length: 30 }, (_, index) => `shard-${index}`);
    const acquireAll = () =>
      Promise.all(
        resources.map((resource) =>
          durable.locks.acquire(resource).then(
            async (lock) => {
              await lock.release();
              return 'acquired';
            },
            (error: unknown) => (error instanceof LockDurabilityError ? 'unreplicated' : String(error)),
          ),
        ),
      );
    // WAIT's timeout is a time: a replica starved of CPU on a loaded machine can miss it, so each
    // round may be tried again. What is asserted is which masters fail, not how fast replicas answer.
    await eventually(
      async () => expect(await acquireAll()).toEqual(resources.map(() => 'acquired')),
      20_000,
      100,
    );

    const [lonely] = await cluster.masterIndexes();
    await cluster.servers[await cluster.replicaOf(lonely!)]!.kill();
    const owners = await Promise.all(
      resources.map((resource) => cluster.ownerOf(clusterKeySlot(`${keyPrefix}:lock:{${resource}}:owner`))),
    );
    expect(owners).toContain(lonely);
    await eventually(
      async () =>
        expect(await acquireAll()).toEqual(
          owners.map((owner) => (owner === lonely ? 'unreplicated' : 'acquired')),
        ),
      20_000,
      100,
    );
  }, 90_000);
});

describe('LockModule with durability', () => {
  let primary: RedisServer;
  let replica: RedisServer;

  beforeAll(async () => {
    primary = await startPrimary();
    replica = await startReplica(primary);
  });

  afterAll(async () => {
    await Promise.all([primary?.stop(), replica?.stop()]);
  });

  it('gives the LockService and the FencedStore the same durable mode', async () => {
    @Module({
      imports: [
        RedisModule.forRoot({ url: primary.url, keyPrefix: uniquePrefix('durablemod') }),
        LockModule.forRoot({ durability: { replicas: 1, timeoutMs: 200 } }),
      ],
    })
    class DurableAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [DurableAppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      expect(app.get(LockService).durability).toEqual({ replicas: 1, timeoutMs: 200 });
      expect(app.get(FencedStore).durability).toEqual({ replicas: 1, timeoutMs: 200 });
      const lock = await app.get(LockService).acquire('module');
      await app.get(FencedStore).set('module', 'ok', lock.fencingToken);
      await lock.release();
    } finally {
      await app.close();
    }
  });
});

describe('fencing tokens across a failover', () => {
  const keyPrefix = uniquePrefix('failover');
  const fenceKey = `${keyPrefix}:lock:{ledger}:fence`;
  const servers = replicatedPairPerTest();
  let onReplica: Redis;

  const open = async (server: RedisServer, options = {}): Promise<LockInstance> => {
    const instance = await openLocks({ url: server.url, keyPrefix }, options);
    servers.afterTest(() => instance.close());
    return instance;
  };

  beforeEach(() => {
    onReplica = admin(servers.replica);
    servers.afterTest(() => onReplica.disconnect());
  });

  it('issues tokens above every earlier one after a stale replica is promoted', async () => {
    const onPrimary = await open(servers.primary, { ttlMs: 30_000 });
    const first = await onPrimary.locks.acquire('ledger');
    await first.release();
    // The replica has the counter as the first acquisition left it, then hears nothing more.
    await eventually(async () => expect(Number(await onReplica.get(fenceKey))).toBe(first.fencingToken + 15));
    await cutOff(onReplica);
    const issued = [first.fencingToken];
    for (let round = 0; round < 5; round += 1) {
      const lock = await onPrimary.locks.acquire('ledger');
      issued.push(lock.fencingToken);
      await lock.release();
    }
    // Still alive there, and stale: the newest blocks never reached it.
    expect(Number(await onReplica.get(fenceKey))).toBe(first.fencingToken + 15);
    expect(Math.max(...issued)).toBeGreaterThan(first.fencingToken + 15);

    await onReplica.call('REPLICAOF', 'NO', 'ONE');
    const onPromoted = await open(servers.replica, { ttlMs: 30_000 });
    const after = await onPromoted.locks.acquire('ledger');
    expect(after.fencingToken).toBeGreaterThan(Math.max(...issued));
    await after.release();
  });

  it('keeps a durable lock held through the failure of its primary', async () => {
    const durable = await open(servers.primary, { durability: DURABILITY, ttlMs: 30_000 });
    const lock = await durable.locks.acquire('account');
    await servers.primary.kill();
    await onReplica.call('REPLICAOF', 'NO', 'ONE');
    const onPromoted = await open(servers.replica);
    expect(await onPromoted.locks.tryAcquire('account')).toBeNull();
    // Whoever takes it next, once the lease ends, gets a larger token.
    await onReplica.del(`${keyPrefix}:lock:{account}:owner`);
    const next = await onPromoted.locks.acquire('account');
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    await next.release();
  });
});
