import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import { RedisConnection, clusterKeySlot, getRedisConnectionToken } from '@redkit/redis';
import type { Cluster } from 'ioredis';

import { captureLogs, eventually, metricValue, RedisClusterServers, uniquePrefix } from '../harness/index.js';
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

describe('a Cluster connection (3 masters, 1 replica each) through failovers', () => {
  const prefix = uniquePrefix('clusterfailover');
  let cluster: RedisClusterServers;
  let app: INestApplication;
  let connection: RedisConnection;
  let metrics: MetricsService;
  /** Keys of one hash tag: every write goes to the master that is failed over. */
  let keys: string[];
  let slot: number;

  const address = (index: number) => {
    const node = cluster.nodes[index] as { host: string; port: number };
    return `${node.host}:${node.port}`;
  };

  beforeAll(async () => {
    cluster = await RedisClusterServers.start({ masters: 3, replicas: 1 });
    app = await startFailoverApp({
      cluster: { nodes: cluster.nodes },
      keyPrefix: prefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    connection = app.get<RedisConnection>(getRedisConnectionToken());
    metrics = app.get(MetricsService);
    const keyspace = connection.keyspace('failover');
    keys = Array.from({ length: 8 }, (_, worker) => keyspace.tagged('writers', `writer-${worker}`));
    slot = clusterKeySlot(keys[0] as string);
  });

  afterAll(async () => {
    await app?.close();
    await cluster?.stop();
  });

  it(`recovers by itself from ${KILLS} SIGKILLed masters under 8 writes in flight, none hanging`, async () => {
    const unhandled = watchUnhandledRejections();
    const load = new WriteLoad(connection.client, keys, 8);
    const recoveryMs: number[] = [];
    const moves: Array<[string, string]> = [];
    const before = await metricValue(metrics, FAILOVERS_SERIES);
    const logs = await captureLogs(async () => {
      try {
        await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
        for (let kill = 0; kill < KILLS; kill++) {
          const master = await cluster.ownerOf(slot);
          const killedAt = performance.now();
          await cluster.killMaster(master);
          const recoveredAt = await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
          recoveryMs.push(recoveredAt - killedAt);
          const next = await cluster.waitForMasterChange(master);
          moves.push([address(master), address(next)]);
          // Each failover is reported before the next one starts, so the lines below pair up.
          await eventually(async () =>
            expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before + kill + 1),
          );
          await cluster.restartNode(master);
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
    expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before + KILLS);
    const failoverLines = logs.filter(({ message }) => message.startsWith('failover on default: '));
    expect(failoverLines.map(({ message }) => message)).toEqual(
      moves.map(([from, to]) => `failover on default: primary ${from} → ${to}`),
    );
    expect(failoverLines.every(({ level, context }) => level === 'warn' && context === 'Redis:default')).toBe(
      true,
    );
    recordRecoveryTimes('cluster', recoveryMs);
  }, 120_000);

  it('follows CLUSTER FAILOVER to the promoted replica with every node up, and keeps writing', async () => {
    const unhandled = watchUnhandledRejections();
    const load = new WriteLoad(connection.client, keys, 8);
    const before = await metricValue(metrics, FAILOVERS_SERIES);
    try {
      await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
      const master = await cluster.ownerOf(slot);
      const replica = await cluster.replicaOf(master);
      const logs = await captureLogs(async () => {
        expect(await cluster.forceFailover(replica)).toBe(master);
        expect(await cluster.waitForMasterChange(master)).toBe(replica);
        // The demoted master answers MOVED; the writes follow it to the new one.
        await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
        // A MOVED moves the writes at once; the failover is reported once the new master confirms it.
        await eventually(async () => expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before + 1));
      });
      expect(logs.map(({ message }) => message)).toContain(
        `failover on default: primary ${address(master)} → ${address(replica)}`,
      );
    } finally {
      await load.stop();
      unhandled.stop();
    }
    expect(load.longestMs).toBeLessThan(HANG_BOUND_MS);
    expect(unhandled.reasons).toEqual([]);
    expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before + 1);
  }, 60_000);

  it('does not count slots moving between masters (resharding) as a failover', async () => {
    const before = await metricValue(metrics, FAILOVERS_SERIES);
    // A slot no test key lives in: moveSlot moves only empty slots.
    const empty = clusterKeySlot(`${prefix}:never-written`);
    const from = await cluster.ownerOf(empty);
    const masters = await cluster.masterIndexes();
    const to = masters.find((index) => index !== from) as number;
    await cluster.moveSlot(empty, to);
    const client = connection.client as Cluster;
    await new Promise<void>((resolve, reject) =>
      client.refreshSlotsCache((error) => (error ? reject(error) : resolve())),
    );
    expect(client.slots[empty]?.[0]).toBe(address(to));
    expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before);
  });

  it('moves off a frozen master once its replica took over (periodic slots refresh), none hanging', async () => {
    const unhandled = watchUnhandledRejections();
    const load = new WriteLoad(connection.client, keys, 8);
    const before = await metricValue(metrics, FAILOVERS_SERIES);
    try {
      await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
      const master = await cluster.ownerOf(slot);
      // Frozen long enough to be failed over, and to stay frozen until the client has moved on: its
      // socket stays open and its commands only time out.
      await cluster.pauseMaster(master, 15_000);
      await cluster.waitForMasterChange(master);
      await load.firstSuccessAfter(performance.now(), RECOVERY_BOUND_MS);
      await eventually(async () => expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before + 1));
      await cluster.restartNode(master);
    } finally {
      await load.stop();
      unhandled.stop();
    }
    expect(load.longestMs).toBeLessThan(HANG_BOUND_MS);
    expect(unhandled.reasons).toEqual([]);
    expect(await metricValue(metrics, FAILOVERS_SERIES)).toBe(before + 1);
  }, 60_000);
});
