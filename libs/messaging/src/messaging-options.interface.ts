import type { DurabilityOptions } from '@redkit/redis';

import type { ReconnectListener } from './event-bus.types.js';
import type { MessagePriority } from './stream-message.js';

/**
 * Defaults of every stream consumer of the module; each can be overridden per consumer
 * (`@StreamHandler(stream, group, { ... })` or `StreamConsumers.start({ ... })`).
 */
export interface StreamConsumerDefaults {
  /** Handlers of one consumer running at once. Default 16. */
  concurrency?: number;
  /** Most entries one XREADGROUP asks for (COUNT). Default: `concurrency`. */
  batchSize?: number;
  /** How long one XREADGROUP waits for new entries (BLOCK). Default 1000. */
  blockMs?: number;
  /** Deliveries an entry gets before it goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** Wait before a failed entry is delivered again (to this consumer). Default 500. */
  retryDelayMs?: number;
  /**
   * Pending entries idle for longer than this are taken over (XAUTOCLAIM) from whichever consumer
   * holds them, dead or alive. Must exceed the longest handler run. Default 30000.
   */
  claimIdleMs?: number;
  /** How often a consumer looks for such entries (and samples its pending count). Default: claimIdleMs / 4, at most 5000. */
  claimIntervalMs?: number;
  /** Where a group created on demand starts: `0` (the whole stream, default) or `$` (only new entries). */
  startId?: string;
  /** Approximate bound (MAXLEN ~) of each dead-letter stream. Default 100000. */
  deadLetterMaxLen?: number;
  /**
   * Consumers of the group with nothing pending and idle for longer than this are removed from it
   * (XGROUP DELCONSUMER), so that the consumers of stopped processes do not pile up. Default 3600000.
   */
  deleteIdleConsumersAfterMs?: number;
  /**
   * Handler starts each priority lane gets per cycle while it has entries: whole numbers from 1 to 100,
   * none above the lane above it; lanes left out keep their default, `{ critical: 8, high: 4,
   * normal: 2, low: 1 }`. While a lane has entries waiting, every N consecutive handler starts
   * (N = the sum, 15 by default) include at least its weight of them.
   */
  priorityWeights?: Partial<Record<MessagePriority, number>>;
}

/**
 * How the members of a partitioned stream's group share its partitions (`@StreamHandler({ name,
 * partitions }, group, { ... })` or `StreamConsumers.startPartitioned({ ... })`). A member that dies
 * loses its partitions to the others within `leaseMs + heartbeatMs`.
 */
export interface PartitionLeaseOptions {
  /**
   * How long a member's hold on a partition (and its membership) lasts without a heartbeat: a dead
   * member's partitions move after at most this plus `heartbeatMs`. At least 4 × `heartbeatMs`.
   * Default 10000.
   */
  leaseMs?: number;
  /** How often a member renews its leases and looks at who else is there. Default 2000. */
  heartbeatMs?: number;
}

/** Options of `MessagingModule.forRoot`. Every part is optional. */
export interface MessagingModuleOptions {
  /** `source` of published envelopes and stream entries. Default `<hostname>:<pid>`. */
  source?: string;
  /** Approximate bound (MAXLEN ~) applied by `StreamProducer.publish` when the call gives none; 0 never trims. Default 100000. */
  streamMaxLen?: number;
  /** Defaults of every stream consumer. */
  consumers?: StreamConsumerDefaults;
  /**
   * Called when the event bus listens again after its subscriber connection was lost: events
   * published meanwhile were not received, so poll for them here.
   */
  onReconnect?: ReconnectListener;
  /** Time an event-bus subscribe() waits for the subscriber connection before it resolves anyway. Default 5000. */
  subscribeTimeoutMs?: number;
  /**
   * On a Cluster, the event bus uses sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7): an event
   * reaches only the master that owns its channel's slot instead of every node. `false` keeps classic
   * PUBLISH / PSUBSCRIBE (Redis < 7, or a fleet not yet upgraded). Ignored off a Cluster. Default true.
   */
  shardedPubSub?: boolean;
  /**
   * With sharded pub/sub: how many shard channels (buckets) events are spread over, by their type.
   * A pattern subscriber listens to all of them. Every instance must use the same number. 1 to 1024,
   * default 16.
   */
  eventBuckets?: number;
  /**
   * Durable stream publishes, for entries that must survive the failover of the primary: each
   * `StreamProducer.publish` (every lane, every partition) is followed by `WAIT replicas timeoutMs`
   * on the same connection and resolves only once `replicas` replicas acknowledged the entry; otherwise
   * it rejects with `MessagingDurabilityError` (the entry may still stand on the primary: treat it as
   * unknown, like a timeout). Publishes of one event-loop turn share one WAIT. `timeoutMs` is at most
   * half the connection's `commandTimeoutMs` (default 500, or that half when less). Off by default.
   * Event-bus events (pub/sub) are fire-and-forget and never wait; consumer-side acks, retries,
   * claims and dead-letter moves do not wait either: one lost in a failover only redelivers the entry.
   */
  durability?: DurabilityOptions;
}

/** Options that shape the module rather than its behaviour (Nest "extras"). */
export interface MessagingModuleExtras {
  /** Register the services globally. Default true. */
  isGlobal: boolean;
  /** The `RedisModule` connection to use. Default `default`. */
  connection: string;
}
