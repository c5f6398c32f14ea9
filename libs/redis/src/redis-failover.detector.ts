import type { Cluster, Redis } from 'ioredis';

import type { RedisClient } from './redis-client.js';
import { RedkitLogger } from './tracing/redkit-logger.js';

const HASH_SLOTS = 16_384;
/**
 * How long a Cluster failover must keep showing before it is reported. For some milliseconds after
 * a promotion, nodes that have not processed it yet still answer CLUSTER SLOTS with the old master,
 * and ioredis refreshes many times then (after every MOVED): reports taken at face value flipped
 * back and forth. Gossip settles well within this.
 */
const CLUSTER_VIEW_SETTLE_MS = 500;

/** A change of primary a connection went through: a Sentinel failover, or a Cluster master replaced. */
export interface RedisFailoverEvent {
  /** The connection's name. */
  connection: string;
  /** `host:port` of the primary (the master serving the slots, on a Cluster) before the failover. */
  from: string;
  /** `host:port` of the primary after it. */
  to: string;
  /** When the connection saw it (epoch ms). */
  at: number;
}

/**
 * Notices when a connection's primary changed, logs one line (`failover on <connection>: primary
 * <old> → <new>`) and tells its listeners, who count it.
 *
 * - Sentinel: the address of the server the client is connected to is read on each `ready`; a
 *   different one than the last time means the Sentinels named another primary. A reconnect to the
 *   same primary (it restarted) is no failover.
 * - Cluster: after each slots refresh, the master of every slot is compared with the last settled
 *   view. A master that serves no slot any more, whose slots went to a node that was not a master
 *   before (its promoted replica), failed over; it is reported once a refresh at least
 *   {@link CLUSTER_VIEW_SETTLE_MS} after the first sighting still shows it (the detector asks for
 *   that refresh). Slots moving between existing masters (resharding) are not counted.
 * - Standalone: there is no one to fail over to; nothing is watched.
 *
 * It only listens to events ioredis emits anyway (`ready`, `refresh`): nothing on the command path.
 */
export class RedisFailoverDetector {
  private readonly logger: RedkitLogger;
  private readonly listeners = new Set<(event: RedisFailoverEvent) => void>();
  private primary?: string;
  /** The master of each slot in the last settled view (Cluster). */
  private owners?: Array<string | undefined>;
  /** Failovers a refresh showed that are not settled yet, and since when (Cluster). */
  private pending?: { key: string; since: number; failovers: Array<[from: string, to: string]> };
  private confirmation?: NodeJS.Timeout;
  private readonly detachers: Array<() => void> = [];

  constructor(
    client: RedisClient,
    private readonly name: string,
    kind: 'standalone' | 'cluster' | 'sentinel',
  ) {
    this.logger = new RedkitLogger(`Redis:${name}`);
    if (kind === 'sentinel') this.listen(client, 'ready', () => this.onSentinelReady(client as Redis));
    if (kind === 'cluster') this.listen(client, 'refresh', () => this.onClusterRefresh(client as Cluster));
  }

  /** Calls `listener` after each failover the connection goes through. */
  onFailover(listener: (event: RedisFailoverEvent) => void): void {
    this.listeners.add(listener);
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
    clearTimeout(this.confirmation);
    this.listeners.clear();
  }

  private listen(client: RedisClient, event: string, handler: () => void): void {
    client.on(event, handler);
    this.detachers.push(() => client.off(event, handler));
  }

  private onSentinelReady(client: Redis): void {
    // The socket ioredis connected to the address the Sentinels named (a TLS socket is one too).
    const stream = client.stream as Redis['stream'] | undefined;
    const remoteAddress = stream?.remoteAddress;
    const remotePort = stream?.remotePort;
    if (remoteAddress === undefined || remotePort === undefined) return;
    const address = formatAddress(remoteAddress, remotePort);
    const previous = this.primary;
    this.primary = address;
    if (previous !== undefined && previous !== address) this.report(previous, address);
  }

  private onClusterRefresh(cluster: Cluster): void {
    const settled = this.owners;
    const owners = new Array<string | undefined>(HASH_SLOTS);
    for (let slot = 0; slot < HASH_SLOTS; slot++) {
      // A slot the refresh left out (no node claims it) keeps its last known master.
      owners[slot] = cluster.slots[slot]?.[0] ?? settled?.[slot];
    }
    const failovers = settled === undefined ? [] : failoversBetween(settled, owners);
    if (failovers.length === 0) {
      // The same masters (or slots moved between them): settled as it is, and a failover seen
      // before was a stale view of a node not yet up to date.
      this.owners = owners;
      this.pending = undefined;
      return;
    }
    const key = failovers.map(([from, to]) => `${from}>${to}`).join(' ');
    const now = Date.now();
    if (this.pending?.key !== key) this.pending = { key, since: now, failovers };
    const { since } = this.pending;
    if (now - since >= CLUSTER_VIEW_SETTLE_MS) {
      this.owners = owners;
      this.pending = undefined;
      for (const [from, to] of failovers) this.report(from, to, since);
      return;
    }
    // Nothing else may refresh soon (the commands succeed again): ask for the confirming refresh.
    this.confirmation ??= setTimeout(
      () => {
        this.confirmation = undefined;
        if (cluster.status === 'ready') cluster.refreshSlotsCache();
      },
      since + CLUSTER_VIEW_SETTLE_MS - now,
    ).unref();
  }

  private report(from: string, to: string, at = Date.now()): void {
    this.logger.warn(`failover on ${this.name}: primary ${from} → ${to}`);
    const event: RedisFailoverEvent = { connection: this.name, from, to, at };
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * The masters of `before` that serve no slot in `after`, each with the node that took its (first)
 * slot when that node was no master in `before`: a replica promoted in its place.
 */
function failoversBetween(
  before: ReadonlyArray<string | undefined>,
  after: ReadonlyArray<string | undefined>,
): Array<[from: string, to: string]> {
  const mastersBefore = new Set(before);
  const mastersAfter = new Set(after);
  const failovers: Array<[string, string]> = [];
  for (const master of mastersBefore) {
    if (master === undefined || mastersAfter.has(master)) continue;
    const successor = after[before.indexOf(master)];
    if (successor !== undefined && !mastersBefore.has(successor)) failovers.push([master, successor]);
  }
  return failovers;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
