import type { Cluster, Redis } from 'ioredis';

import type { RedisClient } from './redis-client.js';
import { RedkitLogger } from './tracing/redkit-logger.js';

const HASH_SLOTS = 16_384;
/**
 * How often a failover a refresh showed but its new master could not confirm yet (not in the pool,
 * not answering) is looked at again, and for how many tries.
 */
const CONFIRM_RETRY_MS = 500;
const CONFIRM_TRIES = 40;

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
 * - Cluster: after each slots refresh, the master of every slot is compared with the last confirmed
 *   view. A master that serves no slot any more, whose slots went to a node that was not a master
 *   before (its promoted replica), may have failed over. ioredis takes each refresh from whichever
 *   node answers first, and for a while after a promotion some nodes still describe the old
 *   topology (and the next refresh may describe it again), so a sighting is never taken at face
 *   value: the new master itself is asked (CLUSTER SLOTS, which the connection already sends) and
 *   the failover is reported only when it names itself master of the slot. A view that describes
 *   an old master again is checked the same way and refused by the demoted node. Slots moving
 *   between existing masters (resharding) are not counted.
 * - Standalone: there is no one to fail over to; nothing is watched.
 *
 * It only listens to events ioredis emits anyway (`ready`, `refresh`): nothing on the command path.
 */
export class RedisFailoverDetector {
  private readonly logger: RedkitLogger;
  private readonly listeners = new Set<(event: RedisFailoverEvent) => void>();
  private primary?: string;
  /** The master of each slot in the last confirmed view (Cluster). */
  private owners?: Array<string | undefined>;
  /** Failovers a refresh showed and not yet confirmed or refused, by `from>to` (Cluster). */
  private readonly sightings = new Map<string, Sighting>();
  private retry?: NodeJS.Timeout;
  private detached = false;
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
    this.detached = true;
    clearTimeout(this.retry);
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
    const confirmed = this.owners;
    const owners = new Array<string | undefined>(HASH_SLOTS);
    for (let slot = 0; slot < HASH_SLOTS; slot++) {
      // A slot the refresh left out (no node claims it) keeps its last known master.
      owners[slot] = cluster.slots[slot]?.[0] ?? confirmed?.[slot];
    }
    const failovers = confirmed === undefined ? [] : failoversBetween(confirmed, owners);
    if (failovers.length === 0) {
      // The same masters (or slots moved between them): this view is the confirmed one, and what
      // earlier views showed was a node not yet up to date.
      this.owners = owners;
      // A check in flight still counts: the node's own answer outranks any view.
      for (const [key, sighting] of this.sightings) if (!sighting.checking) this.sightings.delete(key);
      return;
    }
    for (const failover of failovers) {
      const key = `${failover.from}>${failover.to}`;
      let sighting = this.sightings.get(key);
      if (sighting === undefined)
        this.sightings.set(key, (sighting = { since: Date.now(), tries: 0, checking: false }));
      if (!sighting.checking) void this.confirm(cluster, failover, key, sighting);
    }
  }

  /** Asks the new master whether it serves the slot; reports the failover when it does. Never rejects. */
  private async confirm(
    cluster: Cluster,
    failover: ClusterFailover,
    key: string,
    sighting: Sighting,
  ): Promise<void> {
    sighting.checking = true;
    const claims = await claimsSlot(cluster, failover.to, failover.slot);
    sighting.checking = false;
    if (this.detached) return;
    if (claims === false) {
      // A stale view (or the node is not promoted yet): the next refresh tells again.
      this.sightings.delete(key);
      return;
    }
    if (claims === true) {
      this.sightings.delete(key);
      const owners = this.owners as Array<string | undefined>;
      // Another check (of the same failover) may have confirmed it meanwhile.
      if (owners[failover.slot] !== failover.from) return;
      for (let slot = 0; slot < HASH_SLOTS; slot++) {
        if (owners[slot] === failover.from) owners[slot] = failover.to;
      }
      this.report(failover.from, failover.to, sighting.since);
      return;
    }
    // Unknown (the node is not connected yet, or did not answer): look again a little later, since
    // nothing else may refresh soon once commands succeed (the periodic refresh starts it over).
    sighting.tries += 1;
    if (sighting.tries >= CONFIRM_TRIES) {
      this.sightings.delete(key);
      return;
    }
    this.retry ??= setTimeout(() => {
      this.retry = undefined;
      if (cluster.status === 'ready') cluster.refreshSlotsCache();
    }, CONFIRM_RETRY_MS).unref();
  }

  private report(from: string, to: string, at = Date.now()): void {
    this.logger.warn(`failover on ${this.name}: primary ${from} → ${to}`);
    const event: RedisFailoverEvent = { connection: this.name, from, to, at };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not become an unhandled rejection (the Cluster path runs async).
        this.logger.error(`a failover listener of ${this.name} threw: ${String(error)}`);
      }
    }
  }
}

/** A failover a refresh showed: since when, how often its check found no answer, whether one runs. */
interface Sighting {
  since: number;
  tries: number;
  checking: boolean;
}

/** A master of the confirmed view that serves no slot in a refresh, and the node serving its first slot. */
interface ClusterFailover {
  from: string;
  to: string;
  slot: number;
}

/**
 * The masters of `before` that serve no slot in `after`, each with the node that took its (first)
 * slot when that node was no master in `before`: a replica promoted in its place.
 */
function failoversBetween(
  before: ReadonlyArray<string | undefined>,
  after: ReadonlyArray<string | undefined>,
): ClusterFailover[] {
  const mastersBefore = new Set(before);
  const mastersAfter = new Set(after);
  const failovers: ClusterFailover[] = [];
  for (const from of mastersBefore) {
    if (from === undefined || mastersAfter.has(from)) continue;
    const slot = before.indexOf(from);
    const to = after[slot];
    if (to !== undefined && !mastersBefore.has(to)) failovers.push({ from, to, slot });
  }
  return failovers;
}

/** A CLUSTER SLOTS range: first slot, last slot, then [host, port, id, ...] of its master and replicas. */
type SlotRange = [number, number, ...Array<[string, number, ...unknown[]]>];

/**
 * Whether the node `to` (a `host:port` of the connection's pool) names itself master of `slot` in
 * its own CLUSTER SLOTS; undefined when it cannot tell (not in the pool, no answer within the
 * connection's command timeout).
 */
async function claimsSlot(cluster: Cluster, to: string, slot: number): Promise<boolean | undefined> {
  const node = cluster.nodes('all').find(({ options }) => `${options.host}:${options.port}` === to);
  if (node === undefined) return undefined;
  try {
    const ranges = (await node.call('CLUSTER', 'SLOTS')) as SlotRange[];
    const range = ranges.find(([first, last]) => first <= slot && slot <= last);
    const master = range?.[2];
    if (master === undefined) return false;
    return nodeKey(cluster, master[0], master[1]) === to;
  } catch {
    return undefined;
  }
}

/** The pool key ioredis gives a node CLUSTER SLOTS names, after the connection's `natMap`. */
function nodeKey(cluster: Cluster, host: string, port: number): string {
  const key = `${host}:${port}`;
  const { natMap } = cluster.options;
  const mapped = typeof natMap === 'function' ? natMap(key) : natMap?.[key];
  return mapped ? `${mapped.host}:${mapped.port}` : key;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
