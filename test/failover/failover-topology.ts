import { clusterKeySlot, type RedisModuleOptions } from '@redkit/redis';

import { RedisClusterServers } from '../harness/redis-cluster.js';
import { RedisSentinelGroup } from '../harness/redis-sentinel-group.js';
import type { RedisServer } from '../harness/redis-server.js';

/** Where the modules run: a Sentinel-watched primary, or a Cluster with a replica per master. */
export type TopologyName = 'sentinel' | 'cluster';

/** What a failover did, so the killed node can come back as a replica. */
export interface FailoverHandle {
  /** `host:port` of the node killed and of the one promoted in its place. */
  killed: string;
  promoted: string;
  /** performance.now() at the SIGKILL. */
  killedAt: number;
}

/**
 * One topology the driver fails over: it starts the servers, tells RedisModule how to reach them,
 * SIGKILLs the node that holds every workload's keys, waits for the new one, and brings the killed
 * node back as a replica so the next failover has a replica to promote.
 */
export interface FailoverTopology {
  readonly name: TopologyName;
  /** What RedisModule needs to connect (no prefix, no timeout: the driver adds those). */
  readonly connection: RedisModuleOptions;
  /**
   * Whether every key of `keys` lives where the next kill hits. Standalone-like topologies (Sentinel)
   * hold everything on the primary; on the Cluster the driver picks names until this is true.
   */
  hitByKill(keys: readonly string[]): Promise<boolean>;
  /** SIGKILLs the node holding the workloads' keys; resolves once it has exited. */
  kill(): Promise<FailoverHandle>;
  /** Resolves once the topology has settled on another node (the new primary / master). */
  waitForPromotion(handle: FailoverHandle): Promise<void>;
  /** Restarts the killed node as a replica of the promoted one; resolves once it is in sync. */
  rejoin(handle: FailoverHandle): Promise<void>;
  stop(): Promise<void>;
}

const address = ({ host, port }: { host: string; port: number }) => `${host}:${port}`;

/**
 * A primary with ONE replica and three Sentinels. One replica, not two: with `durability: { replicas: 1 }`
 * and two replicas, Sentinel may promote the replica that did not acknowledge (its offsets are up to a
 * second old), a loss the lock and order-book READMEs document; with one, the replica that acknowledged
 * is the one promoted, which is the guarantee the durable columns measure.
 */
export async function startSentinelTopology(): Promise<FailoverTopology> {
  const group = await RedisSentinelGroup.start({ replicas: 1, sentinels: 3 });
  const killed = new Map<string, RedisServer>();
  return {
    name: 'sentinel',
    connection: { sentinel: { sentinels: group.sentinelAddresses, name: group.name } },
    hitByKill: () => Promise.resolve(true),
    async kill() {
      // killPrimary waits out Sentinel's pause between failovers first; the clock starts at the kill.
      await group.waitUntilFailoverAllowed();
      const killedAt = performance.now();
      const old = await group.killPrimary();
      killed.set(address(old), old);
      return { killed: address(old), promoted: '', killedAt };
    },
    async waitForPromotion(handle) {
      const old = killed.get(handle.killed) as RedisServer;
      handle.promoted = address(await group.waitForPrimaryChange(old));
    },
    async rejoin(handle) {
      const old = killed.get(handle.killed) as RedisServer;
      killed.delete(handle.killed);
      await group.rejoinAsReplica(old);
    },
    stop: () => group.stop(),
  };
}

/**
 * Three masters with one replica each. Every workload's keys are placed (by the names the driver picks)
 * in slots of one master, the target: one SIGKILL fails over all of them, both modes at once. The
 * target is whichever master owns the slot of the first key asked about; after a failover the replica
 * owns the same slots, so the keys stay together.
 */
export async function startClusterTopology(): Promise<FailoverTopology> {
  const cluster = await RedisClusterServers.start({ masters: 3, replicas: 1 });
  let targetSlot: number | undefined;
  return {
    name: 'cluster',
    connection: { cluster: { nodes: cluster.nodes } },
    async hitByKill(keys) {
      const slots = keys.map((key) => clusterKeySlot(key));
      targetSlot ??= slots[0];
      const target = await cluster.ownerOf(targetSlot as number);
      for (const slot of slots) if ((await cluster.ownerOf(slot)) !== target) return false;
      return true;
    },
    async kill() {
      if (targetSlot === undefined) throw new Error('cluster topology: no keys placed before the first kill');
      const master = await cluster.ownerOf(targetSlot);
      const killedAt = performance.now();
      await cluster.killMaster(master);
      return { killed: String(master), promoted: '', killedAt };
    },
    async waitForPromotion(handle) {
      handle.promoted = String(await cluster.waitForMasterChange(Number(handle.killed)));
    },
    // The restarted node rejoins empty as the promoted master's replica (no replica migration).
    rejoin: (handle) => cluster.restartNode(Number(handle.killed)),
    stop: () => cluster.stop(),
  };
}

export function startTopology(name: TopologyName): Promise<FailoverTopology> {
  return name === 'sentinel' ? startSentinelTopology() : startClusterTopology();
}
