import { afterEach, beforeEach, expect } from '@jest/globals';
import { Redis } from 'ioredis';

import { eventually } from './eventually.js';
import { RedisServer } from './redis-server.js';

/** A server to replicate from: a replica's first sync starts at once (not after the default 5 s). */
export function startPrimary(): Promise<RedisServer> {
  return RedisServer.start({ args: ['--repl-diskless-sync-delay', '0'] });
}

/**
 * A replica of `primary`, resolved once the primary counts it for WAIT: after the first sync, a
 * replica is only counted once it has acknowledged an offset (it does every second).
 */
export async function startReplica(primary: RedisServer): Promise<RedisServer> {
  const replica = await RedisServer.start({ args: ['--replicaof', primary.host, String(primary.port)] });
  const client = admin(primary);
  try {
    await eventually(async () => {
      await client.set('replica-probe', '1', 'PX', 1_000);
      expect(await client.wait(1, 100)).toBe(1);
    });
  } finally {
    client.disconnect();
  }
  return replica;
}

export function admin(server: RedisServer): Redis {
  return new Redis(server.url, { enableReadyCheck: false, maxRetriesPerRequest: 0 });
}

/** WAIT commands the server has run since its stats were last reset. */
export async function waitCalls(client: Redis): Promise<number> {
  const stats = await client.info('commandstats');
  return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** A primary with one replica counted for WAIT, and an admin client on each. */
export interface ReplicatedPair {
  primary: RedisServer;
  replica: RedisServer;
  onPrimary: Redis;
  onReplica: Redis;
}

/** Starts a {@link ReplicatedPair}. */
export async function startReplicatedPair(): Promise<ReplicatedPair> {
  const primary = await startPrimary();
  const replica = await startReplica(primary);
  return { primary, replica, onPrimary: admin(primary), onReplica: admin(replica) };
}

/** Closes what {@link startReplicatedPair} started (any part of it may be missing: a failed start). */
export async function stopReplicatedPair(pair: Partial<ReplicatedPair>): Promise<void> {
  pair.onPrimary?.disconnect();
  pair.onReplica?.disconnect();
  await Promise.all([pair.primary?.stop(), pair.replica?.stop()]);
}

/** What {@link replicatedPairPerTest} gives the tests of a describe. */
export interface ReplicatedPairPerTest {
  /** This test's primary. */
  readonly primary: RedisServer;
  /** This test's replica of it, counted for WAIT. */
  readonly replica: RedisServer;
  /** Runs `cleanup` after the test, before the servers stop (the last registered first). */
  afterTest(cleanup: () => unknown): void;
}

/**
 * A fresh primary and replica for each test of the calling describe (a failover spends them),
 * stopped after it once the test's clean-ups have run.
 */
export function replicatedPairPerTest(): ReplicatedPairPerTest {
  let primary: RedisServer | undefined;
  let replica: RedisServer | undefined;
  const cleanups: (() => unknown)[] = [];
  beforeEach(async () => {
    primary = await startPrimary();
    replica = await startReplica(primary);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await Promise.all([primary?.stop(), replica?.stop()]);
  });
  return {
    get primary() {
      return primary as RedisServer;
    },
    get replica() {
      return replica as RedisServer;
    },
    afterTest: (cleanup) => void cleanups.push(cleanup),
  };
}

/** Resolves once `onPrimary`'s server counts no replica (one was killed or cut off). */
export async function waitUntilNoReplica(onPrimary: Redis): Promise<void> {
  await eventually(async () => expect(await onPrimary.info('replication')).toContain('connected_slaves:0'));
}

/**
 * The option a module's options error names when `construct` throws one of `type`; undefined when it
 * does not throw. Any other error fails the test.
 */
export function rejectedOption(
  construct: () => unknown,
  type: new (...args: never[]) => { option: string },
): string | undefined {
  try {
    construct();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return (error as { option: string }).option;
  }
  return undefined;
}
