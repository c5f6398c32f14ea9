import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { MetricsService } from '@redkit/metrics';
import { RedisPermissionError, RedkitLogger, type RedisConnection } from '@redkit/redis';

import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { MessagingError, MessagingOptionsError } from './messaging.errors.js';
import { MessagingMetrics, type PartitionMetrics } from './messaging.metrics.js';
import type { PartitionLeaseOptions, StreamConsumerDefaults } from './messaging-options.interface.js';
import {
  nonEmptyString,
  resolveConsumerSettings,
  resolvePartitionLeaseOptions,
  type ResolvedConsumerSettings,
  type ResolvedPartitionLeaseOptions,
} from './messaging-options.validator.js';
import { partitionKeys, SYNC_PARTITIONS, type PartitionSyncReply } from './partition-assignment.js';
import { othersHoldPending, takePendingEntries } from './partition-handover.js';
import { checkPartitionedStream, partitionStreamName, type PartitionedStream } from './partitioned-stream.js';
import { StreamConsumer, type StreamConsumerContext, type StreamConsumerOptions } from './stream-consumer.js';
import { StreamKeys } from './stream-keys.js';
import type { StreamMessage, StreamMessageHandler } from './stream-message.js';
import { ThrottledWarnings } from './throttled-warnings.js';

/** Options of one member of a partitioned stream's group; unset settings come from the module's `consumers` defaults. */
export interface PartitionedStreamConsumerOptions<T = unknown>
  extends StreamConsumerDefaults, PartitionLeaseOptions {
  stream: PartitionedStream;
  group: string;
  /** The member's id, and its consumer name in each partition's group. Unique. Default `<hostname>-<pid>-<random>`. */
  consumer?: string;
  handler: StreamMessageHandler<T>;
  /** As {@link StreamConsumerOptions.onSettled}; the message's `stream` names its partition (`<name>#<i>`). */
  onSettled?: StreamConsumerOptions<T>['onSettled'];
}

/** One partition this member consumes: its consumer, while it starts and while it stops. */
interface Partition<T> {
  consumer: StreamConsumer<T>;
  starting: Promise<void>;
  /** True once its consumer started (and so may be reading). */
  started: boolean;
  stopping?: Promise<void>;
}

/** How a partition was taken: its lease free or expired, or again by this member (not a takeover). */
type TakeOrigin = 'free' | 'expired' | 'restart';

/**
 * One member of a consumer group on a {@link PartitionedStream}: it consumes the partitions the
 * group assigns to it, each with a {@link StreamConsumer} of its own that runs **one handler at a
 * time**, so the entries of one partition key are handled in the order they were published.
 *
 * - Members find each other through a heartbeat every `heartbeatMs` (one Lua script: membership,
 *   assignment and leases). Each live member gets an even share of the partitions; a partition stays
 *   with its holder while the holder is within its share (so a join or a death moves only what it
 *   must). A member consumes a partition only while it holds its **lease**, which lasts `leaseMs`
 *   from the last heartbeat that renewed it.
 * - A member taking a partition first moves the entries the previous holder left pending to itself
 *   (XAUTOCLAIM from 0, JUSTID: their delivery counts are not bumped), then starts the partition's
 *   consumer, which handles its own pending entries, oldest first, before new ones: an entry the
 *   previous holder was handling when it died is handled again (at least once), and before the
 *   entries published after it.
 * - A member that cannot renew its leases stops its partitions' consumers `2 × heartbeatMs` before
 *   the leases run out, so two members never read one partition at once. A handler still running
 *   past that (longer than the lease margin) may overlap the next holder's run of the same entry:
 *   keep handlers shorter than `heartbeatMs`, or idempotent. An entry a frozen member reads as it
 *   wakes is not run there; the holder finds it pending to another consumer at its next heartbeat
 *   and runs it (late for its key's order, never twice at once).
 * - A partition no longer assigned to it (a member joined) is stopped gracefully (the running
 *   handler finishes and is acknowledged), then released at once; a dead member's partitions are
 *   taken within `leaseMs + heartbeatMs`. `stop()` releases everything and leaves the group.
 *
 * @example
 * const member = new PartitionedStreamConsumer(connection, {
 *   stream: { name: 'orders', partitions: 6 },
 *   group: 'billing',
 *   handler: (message) => bill(message.data),
 * });
 * await member.start();
 */
export class PartitionedStreamConsumer<T = unknown> {
  readonly stream: PartitionedStream;
  readonly group: string;
  /** This member's id. */
  readonly consumer: string;
  readonly lease: ResolvedPartitionLeaseOptions;
  /** The settings of each partition's consumer (`concurrency` 1, `blockMs` at most `heartbeatMs`). */
  readonly settings: ResolvedConsumerSettings;
  private readonly handler: StreamMessageHandler<T>;
  private readonly onSettled?: StreamConsumerOptions<T>['onSettled'];
  private readonly keys: { members: string; leases: string };
  private readonly streamKeys: StreamKeys;
  private readonly messagingMetrics: MessagingMetrics;
  private readonly metrics: PartitionMetrics;
  private readonly logger: RedkitLogger;
  private readonly warnings: ThrottledWarnings;
  private readonly partitions = new Map<number, Partition<T>>();
  /** Partitions stopped here whose lease the next heartbeat gives back. */
  private readonly releasing = new Set<number>();
  private running = false;
  private stopRequested = false;
  private stopping?: Promise<void>;
  private syncing?: Promise<void>;
  private syncAgain = false;
  private heartbeatTimer?: NodeJS.Timeout;
  private watchdogTimer?: NodeJS.Timeout;
  private members = 0;
  /** Partitions whose start failed, to retry at the next heartbeat, with how their lease was taken. */
  private readonly retakes = new Map<number, TakeOrigin>();
  private checkingStolen = false;
  /** When the heartbeat that last renewed the leases was sent, and when the watchdog stops reading. */
  private renewedAt = 0;
  private deadline = 0;
  private readonly handleEntry: StreamMessageHandler<T> = (message) => this.handle(message);
  /** The partition starts in progress, one after the other. */
  private takes: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: RedisConnection,
    options: PartitionedStreamConsumerOptions<T>,
    context: StreamConsumerContext = {},
  ) {
    if (options === null || typeof options !== 'object') {
      throw new MessagingOptionsError('consumer', 'options must be an object');
    }
    const { name, partitions } = checkPartitionedStream(options.stream);
    this.stream = { name, partitions };
    this.group = nonEmptyString('group', options.group);
    this.consumer =
      options.consumer === undefined
        ? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
        : nonEmptyString('consumer', options.consumer);
    if (typeof options.handler !== 'function') {
      throw new MessagingOptionsError('handler', `must be a function, got ${typeof options.handler}`);
    }
    if (options.concurrency !== undefined && options.concurrency !== 1) {
      throw new MessagingOptionsError(
        'concurrency',
        `must be 1 (or unset) on a partitioned stream, got ${String(options.concurrency)}: one handler at a time per partition is what keeps each key's order; add partitions for throughput`,
      );
    }
    this.handler = options.handler;
    this.onSettled = options.onSettled;
    this.lease = resolvePartitionLeaseOptions(options);
    const settings = resolveConsumerSettings(context.defaults ?? {}, { ...options, concurrency: 1 });
    // A stop must take effect well within the lease margin: a blocked read ends within blockMs.
    this.settings = {
      ...settings,
      concurrency: 1,
      batchSize: 1,
      blockMs: Math.min(settings.blockMs, this.lease.heartbeatMs),
    };
    const keyspace = connection.keyspace(MESSAGING_KEY_MODULE);
    this.keys = partitionKeys(keyspace, this.stream.name, this.group);
    this.streamKeys = new StreamKeys(keyspace);
    this.messagingMetrics =
      context.metrics instanceof MessagingMetrics
        ? context.metrics
        : new MessagingMetrics(context.metrics ?? new MetricsService());
    this.metrics = this.messagingMetrics.forPartitions(this.stream.name, this.group);
    this.logger = new RedkitLogger(`PartitionedStreamConsumer ${this.stream.name}/${this.group}`);
    this.warnings = new ThrottledWarnings(
      this.logger,
      (error) => connection.notePermission('messaging', error) !== undefined,
    );
  }

  /** True from start() until stop() is called. */
  get isRunning(): boolean {
    return this.running && !this.stopRequested;
  }

  /** The partitions this member consumes now (started or starting, not stopping), in order. */
  get ownedPartitions(): number[] {
    const owned: number[] = [];
    for (const [index, partition] of this.partitions) if (partition.stopping === undefined) owned.push(index);
    return owned.sort((left, right) => left - right);
  }

  /** Live members of the group at the last heartbeat, this one included (0 before the first). */
  get memberCount(): number {
    return this.members;
  }

  /** The consumers of the partitions this member consumes now. */
  partitionConsumers(): StreamConsumer<T>[] {
    return this.ownedPartitions.map((index) => (this.partitions.get(index) as Partition<T>).consumer);
  }

  /**
   * Joins the group, takes this member's share of the free partitions and starts consuming them.
   * Rejects when Redis refuses the scripts or a partition's group (the ACL user, a key of another
   * type); when Redis is merely unreachable it starts anyway and keeps trying in the background.
   */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.stopping)
      throw new MessagingOptionsError('consumer', 'a stopped consumer cannot be started again');
    this.running = true;
    try {
      await this.sync(true);
      await Promise.all([...this.partitions.values()].map((partition) => partition.starting));
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * Stops every partition's consumer gracefully (running handlers finish and are acknowledged),
   * then gives back the leases and leaves the group, so that the other members take the partitions
   * at their next heartbeat.
   */
  stop(): Promise<void> {
    if (this.stopping === undefined) {
      this.stopRequested = true;
      this.stopping = this.shutdown();
    }
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.heartbeatTimer);
    await this.syncing;
    clearTimeout(this.watchdogTimer);
    await Promise.all([...this.partitions.keys()].map((index) => this.retire(index, false)));
    if (!this.running) return;
    try {
      await SYNC_PARTITIONS.run(
        this.connection.client,
        [this.keys.members, this.keys.leases],
        [this.consumer, this.lease.leaseMs, this.stream.partitions, 1],
      );
    } catch (error) {
      // The leases run out by themselves within leaseMs.
      this.warnings.report(
        'leave',
        'cannot give back the partitions (they move when their leases run out)',
        error,
      );
    }
    this.releasing.clear();
    this.metrics.setOwned(0);
  }

  /** Runs a heartbeat now, or right after the one in progress. */
  private requestSync(): void {
    if (this.stopRequested) return;
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return;
    }
    clearTimeout(this.heartbeatTimer);
    void this.sync(false);
  }

  private async sync(first: boolean): Promise<void> {
    let done!: () => void;
    this.syncing = new Promise((resolve) => (done = resolve));
    try {
      await this.heartbeat(first);
    } finally {
      this.syncing = undefined;
      done();
      if (!this.stopRequested) {
        if (this.syncAgain) {
          this.syncAgain = false;
          setImmediate(() => this.requestSync());
        } else {
          this.heartbeatTimer = setTimeout(() => this.requestSync(), this.lease.heartbeatMs);
        }
      }
    }
  }

  private async heartbeat(first: boolean): Promise<void> {
    const release = [...this.releasing];
    const sentAt = performance.now();
    let reply: PartitionSyncReply;
    try {
      reply = await SYNC_PARTITIONS.run(
        this.connection.client,
        [this.keys.members, this.keys.leases],
        [this.consumer, this.lease.leaseMs, this.stream.partitions, 0, ...release],
      );
    } catch (error) {
      if (first && isRefusal(error)) throw this.connection.notePermission('messaging', error) ?? error;
      this.warnings.report('heartbeat', 'cannot renew the partition leases (retrying)', error);
      return;
    }
    for (const index of release) this.releasing.delete(index);
    const [status, run, surrender, expired, members, partitions] = reply;
    this.members = members;
    if (status === 'mismatch') {
      this.warnings.report(
        'mismatch',
        `${members} live member(s) of the group use ${partitions} partitions, not ${this.stream.partitions}: this member waits until they have left`,
      );
      this.loseAll();
      return;
    }
    this.armWatchdog(sentAt);
    const held = new Set([...run, ...surrender]);
    for (const [index, partition] of this.partitions) {
      if (held.has(index) || partition.stopping !== undefined) continue;
      this.logger.warn(`lost the lease of partition ${index} (not renewed in time); stopped consuming it`);
      void this.retire(index, false);
    }
    for (const index of surrender) {
      if (this.partitions.has(index)) void this.retire(index, true);
      else this.releasing.add(index);
    }
    if (surrender.some((index) => !this.partitions.has(index))) this.syncAgain = true;
    for (const index of this.retakes.keys()) if (!run.includes(index)) this.retakes.delete(index);
    for (const index of run) {
      if (!this.partitions.has(index)) this.take(index, expired.includes(index) ? 'expired' : 'free', first);
    }
    this.metrics.setOwned(this.ownedPartitions.length);
    void this.recoverStolen();
  }

  /**
   * Restarts the consumer of a partition where another consumer of the group holds pending entries.
   * Only a member that froze past its lease (a long GC pause, SIGSTOP) does that: as it wakes, its
   * read loop may read once more before its watchdog runs, and the entry it gets stays pending to it
   * (its handler is not run, see {@link handle}). The restart moves such entries here and handles
   * them first, within a heartbeat or two instead of after `claimIdleMs`.
   */
  private async recoverStolen(): Promise<void> {
    if (this.checkingStolen) return;
    this.checkingStolen = true;
    try {
      for (const [index, partition] of this.partitions) {
        if (!partition.started || partition.stopping !== undefined) continue;
        const { lanes } = this.streamKeys.of(partitionStreamName(this.stream.name, index));
        const stolen = await othersHoldPending(this.connection.client, lanes, this.group, this.consumer);
        if (stolen && this.partitions.get(index) === partition && partition.stopping === undefined) {
          this.retakes.set(index, 'restart');
          void this.retire(index, false).then(() => this.requestSync());
        }
      }
    } catch (error) {
      this.warnings.report('stolen', 'cannot look for entries pending to other consumers', error);
    } finally {
      this.checkingStolen = false;
    }
  }

  /**
   * Stops every partition (without giving the leases back) once the leases renewed by the heartbeat
   * sent at `sentAt` are 2 heartbeats from running out: enough for a blocked read (at most
   * `heartbeatMs`) to end before another member may take them.
   */
  private armWatchdog(sentAt: number): void {
    clearTimeout(this.watchdogTimer);
    this.renewedAt = sentAt;
    this.deadline = sentAt + this.lease.leaseMs - 2 * this.lease.heartbeatMs;
    this.watchdogTimer = setTimeout(
      () => this.leasesRunningOut(),
      Math.max(0, this.deadline - performance.now()),
    );
  }

  private leasesRunningOut(): void {
    if (this.partitions.size === 0 || this.stopRequested) return;
    this.logger.warn(
      `partition leases not renewed for ${Math.round(performance.now() - this.renewedAt)} ms; stopped consuming partitions ${this.ownedPartitions.join(', ')} before they run out`,
    );
    this.loseAll();
  }

  /**
   * Runs the handler, unless the leases are past the watchdog's deadline: after a stall (a long GC
   * pause, SIGSTOP) the reply of a read made before it can arrive before the watchdog's timer runs,
   * and its entry belongs to the partition's next holder now. It is left pending for that holder
   * (counted as `retried`, never retried here: its consumer is stopping; with `maxDeliveries: 1`
   * the failure dead-letters it instead).
   */
  private handle(message: StreamMessage<T>): unknown {
    if (performance.now() >= this.deadline) {
      this.leasesRunningOut();
      throw new MessagingError(
        `the lease of ${message.stream} may have run out; ${message.id} is left to its next holder`,
      );
    }
    return this.handler(message);
  }

  private loseAll(): void {
    for (const index of this.partitions.keys()) void this.retire(index, false);
    this.metrics.setOwned(0);
  }

  /** Moves what the previous holders left pending to this member, then starts the partition's consumer. */
  private take(index: number, lease: TakeOrigin, first: boolean): void {
    const name = partitionStreamName(this.stream.name, index);
    const consumer = new StreamConsumer<T>(
      this.connection,
      {
        ...this.settings,
        stream: name,
        group: this.group,
        consumer: this.consumer,
        handler: this.handleEntry,
        onSettled: this.onSettled,
      },
      { metrics: this.messagingMetrics },
    );
    const partition: Partition<T> = { consumer, starting: Promise.resolve(), started: false };
    // A retry after a failed start still counts as taking the lease the way the first try did.
    const origin = this.retakes.get(index) ?? lease;
    this.retakes.delete(index);
    // One partition starts at a time: ioredis finds no key in XGROUP CREATE, so on a Cluster the
    // group creations of several partitions (different slots) can share an auto-pipeline to one
    // node, whose MOVED replies then fail them all instead of being followed.
    partition.starting = this.takes.then(async () => {
      if (partition.stopping !== undefined || this.stopRequested) return;
      try {
        await takePendingEntries(
          this.connection.client,
          this.streamKeys.of(name).lanes,
          this.group,
          this.consumer,
        );
        await consumer.start();
        partition.started = true;
        if (origin !== 'restart') this.metrics.tookOver(origin);
      } catch (error) {
        if (this.partitions.get(index) === partition && partition.stopping === undefined) {
          this.partitions.delete(index);
          this.metrics.setOwned(this.ownedPartitions.length);
          this.retakes.set(index, origin);
        }
        // At start() a refusal reaches the caller; otherwise the lease stays held and the next heartbeat retries.
        if (first && isRefusal(error)) throw this.connection.notePermission('messaging', error) ?? error;
        this.warnings.report('take', `cannot start consuming partition ${index} (retrying)`, error);
      }
    });
    this.takes = partition.starting.catch(() => undefined);
    this.partitions.set(index, partition);
    // Given back and assigned here again before the release went out: it must not go out now.
    this.releasing.delete(index);
  }

  /**
   * Stops a partition's consumer (graceful: the running handler finishes and is acknowledged);
   * `release` gives its lease back at once afterwards, for the member it was assigned to.
   */
  private retire(index: number, release: boolean): Promise<void> {
    const partition = this.partitions.get(index);
    if (partition === undefined) return Promise.resolve();
    if (partition.stopping !== undefined) return partition.stopping;
    // At once, so that a read loop about to go round again sees it (stop() is idempotent).
    if (partition.started) void partition.consumer.stop();
    partition.stopping = (async () => {
      await partition.starting.catch(() => undefined);
      await partition.consumer.stop();
    })().finally(() => {
      if (this.partitions.get(index) === partition) this.partitions.delete(index);
      this.metrics.setOwned(this.ownedPartitions.length);
      if (release && !this.stopRequested) {
        this.releasing.add(index);
        this.requestSync();
      }
    });
    return partition.stopping;
  }
}

/** Replies that say the cluster is moving or busy, not that the request is wrong. */
const TRANSIENT_REPLY = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|BUSY|MASTERDOWN|READONLY) /;

/** Redis refused the script or a key (not merely unreachable or moving): worth failing start() for. */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof RedisPermissionError ||
    (error instanceof Error && error.name === 'ReplyError' && !TRANSIENT_REPLY.test(error.message))
  );
}
