import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import { RedisConnection, getRedisConnectionToken, type RedisFailoverEvent } from '@redkit/redis';
import type { Redis } from 'ioredis';

import {
  captureLogs,
  eventually,
  metricValue,
  RedisSentinelGroup,
  sleep,
  uniquePrefix,
} from '../harness/index.js';
import {
  COMMAND_TIMEOUT_MS,
  FAILOVER_KILLS,
  FAILOVERS_SERIES,
  HANG_BOUND_MS,
  RECOVERY_BOUND_MS,
  recordRecoveryTimes,
  startFailoverApp,
  watchUnhandledRejections,
  WriteLoad,
} from './failover-load.js';

const KILLS = FAILOVER_KILLS;
/** ioredis's default `disconnectTimeout`, which its Sentinel connections always use. */
const IOREDIS_DISCONNECT_TIMEOUT_MS = 2_000;

function addressOf({ host, port }: { host: string; port: number }): string {
  return `${host}:${port}`;
}

/** True when `wanted` appears in `sequence` in order, not necessarily next to each other. */
function isSubsequence(wanted: readonly string[], sequence: ReadonlyArray<string | undefined>): boolean {
  let next = 0;
  for (const item of sequence) if (item === wanted[next]) next += 1;
  return next === wanted.length;
}

/** `host:port` of the server the Sentinel client is connected to. */
function connectedTo(connection: RedisConnection): string {
  const { stream } = connection.client as Redis;
  return `${stream.remoteAddress}:${stream.remotePort}`;
}

describe('a Sentinel connection (RedisModule with sentinel) through failovers', () => {
  const prefix = uniquePrefix('failover');
  let group: RedisSentinelGroup;
  let app: INestApplication;
  let connection: RedisConnection;
  let metrics: MetricsService;
  let keys: string[];

  beforeAll(async () => {
    group = await RedisSentinelGroup.start({ replicas: 2, sentinels: 3 });
    app = await startFailoverApp({
      sentinel: { sentinels: group.sentinelAddresses, name: group.name },
      keyPrefix: prefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    connection = app.get<RedisConnection>(getRedisConnectionToken());
    metrics = app.get(MetricsService);
    const keyspace = connection.keyspace('failover');
    keys = Array.from({ length: 8 }, (_, worker) => keyspace.key(`writer-${worker}`));
  });

  afterAll(async () => {
    await app?.close();
    await group?.stop();
    // After a failover, ioredis's failover detector closes its Sentinel connections twice; the second
    // close arms its 2 s disconnect timer on sockets already closed, which nothing clears. Waiting it
    // out keeps a lone run of this file from being reported as not exiting.
    await sleep(IOREDIS_DISCONNECT_TIMEOUT_MS);
  });

  it(`recovers by itself from ${KILLS} SIGKILLed primaries under 8 writes in flight, none hanging`, async () => {
    const unhandled = watchUnhandledRejections();
    const load = new WriteLoad(connection.client, keys, 8);
    const recoveryMs: number[] = [];
    /** Each primary the Sentinels settled on, the first one included. */
    const primaries = [addressOf(await group.currentPrimary())];
    const before = await metricValue(metrics, FAILOVERS_SERIES);
    const logs = await captureLogs(async () => {
      try {
        await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
        for (let kill = 0; kill < KILLS; kill++) {
          await group.waitUntilFailoverAllowed();
          const killedAt = performance.now();
          const old = await group.killPrimary();
          const recoveredAt = await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
          recoveryMs.push(recoveredAt - killedAt);
          primaries.push(addressOf(await group.waitForPrimaryChange(old)));
          await group.rejoinAsReplica(old);
        }
      } finally {
        await load.stop();
        unhandled.stop();
      }
    });

    expect(recoveryMs).toHaveLength(KILLS);
    for (const ms of recoveryMs) expect(ms).toBeLessThan(RECOVERY_BOUND_MS);
    expect(load.longestMs).toBeLessThan(HANG_BOUND_MS);
    expect(unhandled.reasons).toEqual([]);
    const failoverLines = logs.filter(({ message }) => message.startsWith('failover on default: '));
    expect(failoverLines.every(({ level, context }) => level === 'warn' && context === 'Redis:default')).toBe(
      true,
    );
    const moves = failoverLines.map(({ message }) => {
      const [, from = '', to = ''] = /^failover on default: primary (\S+) → (\S+)$/.exec(message) ?? [];
      return { from, to };
    });
    // One move per kill, or two when the Sentinels themselves failed over twice (a Sentinel that
    // started in a later epoch promoted another replica after the first switch): the moves chain from
    // the first primary through every primary the Sentinels settled on, in order, to the last.
    expect(moves.length).toBeGreaterThanOrEqual(KILLS);
    expect(moves.slice(1).every(({ from }, index) => from === moves[index]?.to)).toBe(true);
    const visited = [moves[0]?.from, ...moves.map(({ to }) => to)];
    expect(visited[0]).toBe(primaries[0]);
    expect(visited.at(-1)).toBe(primaries.at(-1));
    expect(isSubsequence(primaries, visited)).toBe(true);
    expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before + moves.length);
    expect(connectedTo(connection)).toBe(addressOf(group.primary));
    recordRecoveryTimes('sentinel', recoveryMs);
  }, 150_000);

  it('follows SENTINEL FAILOVER to the new primary with every server up, and keeps writing', async () => {
    const unhandled = watchUnhandledRejections();
    const load = new WriteLoad(connection.client, keys, 8);
    const before = await metricValue(metrics, FAILOVERS_SERIES);
    try {
      await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
      const old = await group.forceFailover();
      const next = await group.waitForPrimaryChange(old);
      // The old primary stays up, a master for some seconds yet: only the Sentinels' +switch-master
      // moves the connection (ioredis's failoverDetector), so wait for it there.
      await eventually(
        () => expect(connectedTo(connection)).toBe(`${next.host}:${next.port}`),
        RECOVERY_BOUND_MS,
      );
      await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
      await group.rejoinAsReplica(old);
    } finally {
      await load.stop();
      unhandled.stop();
    }
    expect(load.longestMs).toBeLessThan(HANG_BOUND_MS);
    expect(unhandled.reasons).toEqual([]);
    expect(await metricValue(metrics, FAILOVERS_SERIES)).toBeGreaterThanOrEqual(before + 1);
  }, 60_000);

  it('reconnects to the new primary when a write meets the demoted one (READONLY)', async () => {
    const events: RedisFailoverEvent[] = [];
    // Without the failover detector the connection stays on the old primary after the switch, as
    // one that missed the Sentinels' CLIENT KILL would: READONLY is all that tells it.
    const stale = await RedisConnection.open('stale', {
      sentinel: { sentinels: group.sentinelAddresses, name: group.name },
      keyPrefix: prefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      redisOptions: { failoverDetector: false },
    });
    stale.onFailover((event) => events.push(event));
    const key = stale.keyspace('failover').key('readonly');
    try {
      await stale.client.set(key, 'before', 'PX', 60_000);
      const old = await group.forceFailover();
      const next = await group.waitForPrimaryChange(old);
      // Demoted by REPLICAOF alone: no CLIENT KILL, so the stale connection is still open on it.
      await group.rejoinAsReplica(old);
      expect(connectedTo(stale)).toBe(`${old.host}:${old.port}`);
      await expect(stale.client.set(key, 'refused')).rejects.toThrow(/^READONLY/);
      await eventually(async () => expect(await stale.client.set(key, 'after', 'PX', 60_000)).toBe('OK'));
      expect(connectedTo(stale)).toBe(`${next.host}:${next.port}`);
      expect(events).toEqual([
        {
          connection: 'stale',
          from: `${old.host}:${old.port}`,
          to: `${next.host}:${next.port}`,
          at: expect.any(Number),
        },
      ]);
    } finally {
      await stale.close();
    }
  }, 60_000);
});
