import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { MetricsService } from '@redkit/metrics';
import {
  currentCorrelationId,
  recordSpanError,
  RedkitLogger,
  runInRestoredContext,
  type RedisClient,
  type RedisConnection,
  type RedkitSpan,
  type SpanAttributes,
} from '@redkit/redis';
import { Cluster } from 'ioredis';

import { LaneQueues, type WaitingEntry } from './lane-queues.js';
import { LaneScheduler } from './lane-scheduler.js';
import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { MessagingOptionsError } from './messaging.errors.js';
import {
  MessagingMetrics,
  type LaneMetrics,
  type StreamMetrics,
  type StreamOutcome,
} from './messaging.metrics.js';
import {
  endAcked,
  messagingSpanAttributes,
  messagingTracer,
  startProcess,
  traceSettleFailure,
} from './messaging.tracing.js';
import type { StreamConsumerDefaults } from './messaging-options.interface.js';
import {
  nonEmptyString,
  resolveConsumerSettings,
  type ResolvedConsumerSettings,
} from './messaging-options.validator.js';
import { StreamKeys } from './stream-keys.js';
import {
  decodeEntry,
  MESSAGE_PRIORITIES,
  type MessagePriority,
  type StreamMessage,
  type StreamMessageHandler,
} from './stream-message.js';
import { DELETE_IDLE_CONSUMERS, SETTLE_FAILURE, type FailureVerdict } from './stream-scripts.js';
import { describeError, ThrottledWarnings } from './throttled-warnings.js';

/** Options of one consumer; unset settings come from the module's `consumers` defaults. */
export interface StreamConsumerOptions<T = unknown> extends StreamConsumerDefaults {
  stream: string;
  group: string;
  /** Unique within the group. Default `<hostname>-<pid>-<random>`. */
  consumer?: string;
  handler: StreamMessageHandler<T>;
  /**
   * Called once an entry is settled: `acked` after its XACK landed, `retried` when it will be delivered
   * again, `dead_lettered`, or `deleted` (trimmed while pending; then only its id is known).
   */
  onSettled?: (
    message: StreamMessage<T> | { id: string },
    outcome: Exclude<StreamOutcome, 'published'>,
  ) => void;
}

/** What a consumer shares with the module: defaults and metrics. */
export interface StreamConsumerContext {
  defaults?: StreamConsumerDefaults;
  metrics?: MessagingMetrics | MetricsService;
}

/** Raw XREADGROUP / XCLAIM entry: id and flat field list (null fields for an entry deleted while pending, Redis 6.2). */
type RawEntry = [id: string, fields: string[] | null];

/** Where a lane's next read starts once this consumer's own pending entries there are delivered. */
const NEW_ENTRIES = '>';

/** One priority lane of the consumer's stream. */
interface Lane<T> {
  readonly index: number;
  readonly priority: MessagePriority;
  readonly key: string;
  readonly metrics: LaneMetrics;
  /** The next read: after this id among the consumer's own pending entries (from `0`), then `>`. */
  cursor: string;
  claimCursor: string;
  acks: StreamMessage<T>[];
}

/** A decoded entry waiting for a handler slot. */
interface Waiting<T> extends WaitingEntry {
  readonly message: StreamMessage<T>;
}

function isNoGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

function backoff(failures: number): number {
  const ceiling = Math.min(1_000, 25 * 2 ** Math.min(failures, 10));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * One member of a Redis Streams consumer group. Delivery is **at least once**: an entry is
 * acknowledged (XACK) only after its handler resolved, so a crash, a kill or a lost connection
 * means it is delivered again, to this consumer or another one; make handlers idempotent
 * (`IdempotencyStore` helps).
 *
 * - The group is created on demand (XGROUP CREATE ... MKSTREAM) on each of the stream's four priority
 *   lanes, and again whenever Redis says it is gone (a restarted server without persistence, a
 *   failover to an empty replica).
 * - On start it first delivers again the entries already pending to its own name (XREADGROUP from
 *   `0`, oldest first, every lane): those of a consumer restarted under the same name, or handed to
 *   it, resume at once instead of after `claimIdleMs`.
 * - New entries are read with one XREADGROUP over every lane, BLOCK when it holds nothing, on a
 *   connection of its own (a blocked read would otherwise hold up every other command, and outlive
 *   the shared connection's command timeout), at most `concurrency` handlers running at once. Each
 *   round reads only the lanes that hold fewer entries than the round may start, so every lane with
 *   entries has some in hand when the {@link LaneScheduler} picks which lane starts next: while a
 *   lane has entries, every N consecutive starts (N = the sum of `priorityWeights`, 15 by default)
 *   include at least its weight of them. Reads, acks and claims retry with back-off while Redis is
 *   unreachable, so the consumer resumes by itself when it is back.
 * - A failing entry is delivered again after `retryDelayMs` (XCLAIM on its own lane, which counts the
 *   delivery and keeps its priority); at `maxDeliveries` it is moved to the dead-letter stream
 *   `<...>:{<stream>}:dead-letter` with the error, the count and its priority, and acknowledged, in
 *   one Lua script.
 * - Every `claimIntervalMs` it takes over (XAUTOCLAIM) entries pending longer than `claimIdleMs` in any
 *   consumer, such as one that died; entries trimmed or deleted meanwhile are counted as `deleted`.
 *   Entries it holds waiting for a slot for longer than `claimIdleMs / 2` have their idle time reset
 *   (XCLAIM ... JUSTID, no delivery counted), so no other consumer takes them over meanwhile.
 * - `stop()` stops reading, runs the entries it holds, lets running handlers finish and acknowledges
 *   them.
 * - A handler runs in its entry's context: the publisher's correlation id (`currentCorrelationId()`,
 *   on its log lines) and, while traced, a `<stream> process` span that is a child of the
 *   `<stream> publish` one (see the README's "Correlation and tracing").
 */
export class StreamConsumer<T = unknown> {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly settings: ResolvedConsumerSettings;
  private readonly logger: RedkitLogger;
  private readonly warnings: ThrottledWarnings;
  private readonly lanes: readonly Lane<T>[];
  private readonly laneByKey = new Map<string, Lane<T>>();
  private readonly laneKeys: string[];
  /** Until every lane has delivered again the entries pending to this consumer when it started. */
  private resuming = true;
  /** STREAMS arguments of the reads of new entries, by the set of lanes read (a bit mask). */
  private readonly newStreams: (string[] | undefined)[] = [];
  private readonly deadLetterKey: string;
  private readonly queues: LaneQueues<Waiting<T>>;
  private readonly handler: StreamMessageHandler<T>;
  private readonly onSettled?: StreamConsumerOptions<T>['onSettled'];
  private readonly metrics: StreamMetrics;
  private readonly client: RedisClient;
  private reader?: RedisClient;
  private running = false;
  private stopping?: Promise<void>;
  private stopRequested = false;
  private readLoop?: Promise<void>;
  /** True while the read loop waits in a blocking XREADGROUP: it holds nothing then. */
  private blocking = false;
  private active = 0;
  private wakers: (() => void)[] = [];
  private ackScheduled = false;
  private readonly settling = new Set<Promise<unknown>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private claimTimer?: NodeJS.Timeout;
  private lastConsumerCleanup = performance.now();
  /** The attributes of its spans, made the first time it is traced. */
  private spanAttributes?: SpanAttributes;
  /** Traced: the process spans of entries handled and waiting for their XACK, which ends them. */
  private readonly ackSpans = new Map<StreamMessage<T>, RedkitSpan>();

  constructor(
    private readonly connection: RedisConnection,
    options: StreamConsumerOptions<T>,
    context: StreamConsumerContext = {},
  ) {
    if (options === null || typeof options !== 'object') {
      throw new MessagingOptionsError('consumer', 'options must be an object');
    }
    this.stream = nonEmptyString('stream', options.stream, 512);
    this.group = nonEmptyString('group', options.group);
    this.consumer =
      options.consumer === undefined
        ? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
        : nonEmptyString('consumer', options.consumer);
    if (typeof options.handler !== 'function') {
      throw new MessagingOptionsError('handler', `must be a function, got ${typeof options.handler}`);
    }
    this.handler = options.handler;
    this.onSettled = options.onSettled;
    this.settings = resolveConsumerSettings(context.defaults ?? {}, options);
    this.queues = new LaneQueues(new LaneScheduler(this.settings.priorityWeights));
    const keys = new StreamKeys(connection.keyspace(MESSAGING_KEY_MODULE)).of(this.stream);
    this.deadLetterKey = keys.deadLetter;
    this.laneKeys = [...keys.lanes];
    this.client = connection.client;
    const metrics =
      context.metrics instanceof MessagingMetrics
        ? context.metrics
        : new MessagingMetrics(context.metrics ?? new MetricsService());
    this.metrics = metrics.forStream(this.stream, this.group);
    this.lanes = MESSAGE_PRIORITIES.map((priority, index) => {
      const lane: Lane<T> = {
        index,
        priority,
        key: keys.lanes[index] as string,
        metrics: this.metrics.lane(priority),
        cursor: '0',
        claimCursor: '0-0',
        acks: [],
      };
      this.laneByKey.set(lane.key, lane);
      return lane;
    });
    this.logger = new RedkitLogger(`StreamConsumer ${this.stream}/${this.group}`);
    this.warnings = new ThrottledWarnings(
      this.logger,
      (error) => connection.notePermission('messaging', error) !== undefined,
    );
  }

  /** True from start() until stop() is called. */
  get isRunning(): boolean {
    return this.running && !this.stopRequested;
  }

  /** Handlers running right now. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Creates the group if needed, opens the reading connection and starts consuming: first the
   * entries already pending to this consumer's name, then new ones. Rejects when Redis refuses the
   * group (e.g. the key holds something else than a stream); when Redis is merely unreachable it
   * starts anyway and keeps retrying in the background.
   */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.stopping)
      throw new MessagingOptionsError('consumer', 'a stopped consumer cannot be started again');
    this.running = true;
    try {
      await this.ensureGroups();
    } catch (error) {
      if (error instanceof Error && error.name === 'ReplyError') {
        this.running = false;
        // A refusal for the ACL user: typed, logged once and reported by the connection's health.
        throw this.connection.notePermission('messaging', error) ?? error;
      }
      this.warnings.report('group', 'cannot create the consumer group yet (retrying)', error);
    }
    this.reader = this.openReader();
    await this.waitForReader(this.reader);
    this.readLoop = this.read();
    this.scheduleClaim();
  }

  /**
   * Graceful shutdown: stops reading (an XREADGROUP in progress returns, and what it brings is
   * handled too), runs the entries it holds, waits for running handlers, acknowledges them and
   * closes the reading connection. Entries waiting for a retry stay pending and are claimed later by
   * another consumer.
   */
  stop(): Promise<void> {
    if (this.stopping === undefined) {
      // Set before shutdown() runs, so that every loop it wakes already sees it.
      this.stopRequested = true;
      this.stopping = this.shutdown();
    }
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.claimTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.wake();
    // Bounded: a read stuck past its timeout is abandoned by the watchdog anyway.
    await Promise.race([this.readLoop, sleep(this.readLimitMs() + 100, undefined, { ref: false })]);
    while (this.active > 0 || this.queues.size > 0) {
      this.startWaiting(this.settings.concurrency - this.active);
      if (this.active > 0 || this.queues.size > 0) await this.nextWake();
    }
    this.flushAcks();
    while (this.settling.size > 0) await Promise.allSettled([...this.settling]);
    const { reader } = this;
    this.reader = undefined;
    if (reader !== undefined) {
      await Promise.race([reader.quit().catch(() => undefined), sleep(1_000, undefined, { ref: false })]);
      reader.disconnect();
    }
  }

  private openReader(): RedisClient {
    const commandTimeout = this.settings.blockMs + this.connection.options.commandTimeoutMs;
    const { client } = this;
    let reader: RedisClient;
    if (client instanceof Cluster) {
      reader = client.duplicate([], {
        redisOptions: { ...client.options.redisOptions, commandTimeout },
        enableAutoPipelining: false,
        lazyConnect: true,
      });
    } else {
      const name = client.options.connectionName;
      reader = client.duplicate({
        commandTimeout,
        enableAutoPipelining: false,
        lazyConnect: true,
        connectionName: name ? `${name}:stream-reader` : 'redkit:stream-reader',
      });
    }
    reader.on('error', (error: unknown) =>
      this.warnings.report('reader', 'reading connection failed', error),
    );
    reader.connect().catch(() => undefined);
    return reader;
  }

  private async waitForReader(reader: RedisClient): Promise<void> {
    if (reader.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.connection.options.connectTimeoutMs);
      timer.unref();
      reader.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Creates the group on every lane (MKSTREAM), leaving those that have it alone. */
  private async ensureGroups(): Promise<void> {
    await Promise.all(
      this.lanes.map(async (lane) => {
        try {
          await this.client.xgroup('CREATE', lane.key, this.group, this.settings.startId, 'MKSTREAM');
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('BUSYGROUP')) return;
          throw error;
        }
      }),
    );
  }

  /** Resolves at the next {@link wake}: a handler finished, an entry arrived, or stop() was called. */
  private nextWake(): Promise<void> {
    return new Promise<void>((resolve) => this.wakers.push(resolve));
  }

  private wake(): void {
    if (this.wakers.length === 0) return;
    const wakers = this.wakers;
    this.wakers = [];
    for (const resolve of wakers) resolve();
  }

  /**
   * Rounds of: read the lanes holding fewer entries than the round may start (so that every lane
   * with entries has some in hand), then start up to that many, lane by lane as the scheduler says.
   */
  private async read(): Promise<void> {
    const { concurrency, batchSize, blockMs } = this.settings;
    let failures = 0;
    while (!this.stopRequested) {
      const free = concurrency - this.active;
      if (free <= 0) {
        await this.nextWake();
        continue;
      }
      const round = Math.min(batchSize, free);
      let lanes = 0;
      for (let lane = 0; lane < this.lanes.length; lane++)
        if (this.queues.length(lane) < round) lanes |= 1 << lane;
      if (lanes !== 0) {
        const block = this.queues.size === 0;
        const reader = this.reader as RedisClient;
        const streams = this.streamsOf(lanes);
        let reply: [string, RawEntry[]][] | null;
        this.blocking = block;
        try {
          reply = await this.readWithWatchdog(
            (block
              ? reader.xreadgroup(
                  'GROUP',
                  this.group,
                  this.consumer,
                  'COUNT',
                  round,
                  'BLOCK',
                  blockMs,
                  'STREAMS',
                  ...streams,
                )
              : reader.xreadgroup(
                  'GROUP',
                  this.group,
                  this.consumer,
                  'COUNT',
                  round,
                  'STREAMS',
                  ...streams,
                )) as Promise<[string, RawEntry[]][] | null>,
          );
          failures = 0;
        } catch (error) {
          this.blocking = false;
          if (this.stopRequested) break;
          failures += 1;
          if (isNoGroup(error)) {
            this.logger.warn(
              'the consumer group is gone (Redis restarted or failed over?); creating it again',
            );
            await this.ensureGroups().catch((cause: unknown) =>
              this.warnings.report('group', 'cannot create the group', cause),
            );
          } else {
            this.warnings.report('read', 'XREADGROUP failed (retrying)', error);
          }
          // ioredis can end a Sentinel client for good mid-failover (see reviveOnEnd in @redkit/redis),
          // and a Cluster it gave up stays 'close': such a reader is replaced, or every later read
          // would fail with 'Connection is closed.'. One that reconnects is never left in either.
          if (reader.status === 'end' || reader.status === 'close') this.replaceReader(reader);
          // What it holds already can run meanwhile.
          this.startWaiting(round);
          await sleep(backoff(failures));
          continue;
        }
        this.blocking = false;
        if (this.resuming) await this.takeResumed(reply ?? [], lanes, round);
        else if (reply !== null) this.take(reply);
      }
      this.startWaiting(round);
    }
  }

  /** The STREAMS arguments of a read of the lanes in `lanes` (bit `i`: lane `i`), from their cursors. */
  private streamsOf(lanes: number): string[] {
    if (!this.resuming) {
      const cached = this.newStreams[lanes];
      if (cached !== undefined) return cached;
    }
    const read = this.lanes.filter((lane) => (lanes & (1 << lane.index)) !== 0);
    const streams = [...read.map((lane) => lane.key), ...read.map((lane) => lane.cursor)];
    if (!this.resuming) this.newStreams[lanes] = streams;
    return streams;
  }

  /** Queues the new entries one read brought. */
  private take(reply: [string, RawEntry[]][]): void {
    const now = performance.now();
    for (const [key, entries] of reply) {
      const lane = this.laneByKey.get(key);
      if (lane !== undefined) for (const [id, fields] of entries) this.enqueue(lane, id, fields, 1, now);
    }
  }

  /**
   * Queues what a read brought while some lanes still deliver this consumer's own pending entries; a
   * lane whose pending entries ran out goes on to new ones.
   */
  private async takeResumed(reply: [string, RawEntry[]][], lanes: number, requested: number): Promise<void> {
    const now = performance.now();
    for (const [key, entries] of reply) {
      const lane = this.laneByKey.get(key);
      if (lane === undefined) continue;
      if (lane.cursor === NEW_ENTRIES) {
        for (const [id, fields] of entries) this.enqueue(lane, id, fields, 1, now);
        continue;
      }
      lane.cursor = entries.length < requested ? NEW_ENTRIES : (entries[entries.length - 1] as RawEntry)[0];
      await this.enqueueClaimed(lane, entries).catch((error: unknown) =>
        this.warnings.report('resume', 'resuming pending entries failed (they stay pending)', error),
      );
    }
    // Redis answers every lane read from its own pending entries; one left out has none.
    for (const lane of this.lanes) {
      if ((lanes & (1 << lane.index)) !== 0 && !reply.some(([key]) => key === lane.key))
        lane.cursor = NEW_ENTRIES;
    }
    this.resuming = this.lanes.some((lane) => lane.cursor !== NEW_ENTRIES);
  }

  /**
   * A read that outlives its own command timeout by a second is stuck (seen with a Cluster client
   * after a node restart): the reading connection is replaced, so the consumer never stalls for good.
   */
  private readWithWatchdog<R>(read: Promise<R>): Promise<R> {
    const limitMs = this.readLimitMs();
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        if (this.reader !== undefined) this.replaceReader(this.reader);
        reject(new Error(`XREADGROUP did not settle within ${limitMs} ms; reading connection replaced`));
      }, limitMs);
    });
    return Promise.race([read, watchdog]).finally(() => clearTimeout(timer));
  }

  /** Swaps `stale` for a new reading connection, unless stopping or already swapped. */
  private replaceReader(stale: RedisClient): void {
    if (this.stopRequested || this.reader !== stale) return;
    this.reader = this.openReader();
    stale.disconnect();
  }

  private readLimitMs(): number {
    return this.settings.blockMs + this.connection.options.commandTimeoutMs + 1_000;
  }

  /** Queues one delivered entry for a handler slot (or settles it at once when it cannot run). */
  private enqueue(
    lane: Lane<T>,
    id: string,
    fields: string[] | null,
    deliveries: number,
    now = performance.now(),
  ): void {
    if (fields === null) {
      this.settleDeleted(lane, id);
      return;
    }
    const message = decodeEntry(id, fields, this.stream, this.group, deliveries, lane.priority);
    if (typeof message === 'string') {
      // Not something StreamProducer wrote: retrying would not help.
      this.settleFailure(
        lane,
        { id, deliveries, priority: lane.priority } as StreamMessage<T>,
        new Error(`malformed entry: ${message}`),
        0,
      );
      return;
    }
    this.queues.push(lane.index, { id, since: now, message: message as StreamMessage<T> });
  }

  /**
   * Queues entries that were pending before this consumer got them (its own from an earlier life,
   * or claimed from another), with the delivery counts Redis keeps. One whose consumers died on it
   * `maxDeliveries` times is dead-lettered without being run again.
   */
  private async enqueueClaimed(lane: Lane<T>, entries: RawEntry[]): Promise<void> {
    const fresh = entries.filter(([id]) => !this.queues.holds(lane.index, id));
    if (fresh.length === 0) return;
    const counts = await this.deliveryCounts(lane, fresh);
    for (const [id, fields] of fresh) {
      const deliveries = counts.get(id) ?? this.settings.maxDeliveries;
      if (fields !== null && deliveries > this.settings.maxDeliveries) {
        // Its earlier consumers died with it, likely because of it: do not run it once more.
        this.settleFailure(
          lane,
          { id, deliveries, priority: lane.priority } as StreamMessage<T>,
          new Error(
            `delivered ${deliveries - 1} times without being settled (consumers stopped while handling it)`,
          ),
          this.settings.maxDeliveries,
        );
        continue;
      }
      this.enqueue(lane, id, fields, deliveries);
    }
  }

  /** Starts up to `limit` waiting entries, each from the lane the scheduler picks. */
  private startWaiting(limit: number): void {
    const slots = Math.min(limit, this.settings.concurrency - this.active);
    for (let started = 0; started < slots; started++) {
      const next = this.queues.next();
      if (next === undefined) return;
      this.run(next.entry.message, this.lanes[next.lane] as Lane<T>);
    }
  }

  /** After entries were queued outside the read loop: start them now if the loop is blocked, else let it. */
  private kick(): void {
    if (this.blocking) this.startWaiting(this.settings.concurrency - this.active);
    else this.wake();
  }

  /**
   * Runs the handler in the entry's context (its correlation id, and its trace while traced). An
   * entry that carries nothing to restore, read where no correlation id is set, runs as is.
   */
  private run(message: StreamMessage<T>, lane: Lane<T>): void {
    this.active += 1;
    if (messagingTracer.enabled) {
      runInRestoredContext(message, () => this.runTraced(message, lane));
    } else if (
      message.correlationId === undefined &&
      message.traceparent === undefined &&
      currentCorrelationId() === undefined
    ) {
      this.execute(message, lane, undefined);
    } else {
      runInRestoredContext(message, () => this.execute(message, lane, undefined));
    }
  }

  private runTraced(message: StreamMessage<T>, lane: Lane<T>): void {
    const span = startProcess((this.spanAttributes ??= messagingSpanAttributes(this.connection)), message);
    messagingTracer.withSpan(span, () => this.execute(message, lane, span));
  }

  private execute(message: StreamMessage<T>, lane: Lane<T>, span: RedkitSpan | undefined): void {
    const started = performance.now();
    let result: unknown;
    try {
      result = this.handler(message);
    } catch (error) {
      this.finish(message, lane, started, span, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.finish(message, lane, started, span),
        (error: unknown) => this.finish(message, lane, started, span, error ?? new Error('handler rejected')),
      );
    } else {
      this.finish(message, lane, started, span);
    }
  }

  private finish(
    message: StreamMessage<T>,
    lane: Lane<T>,
    started: number,
    span: RedkitSpan | undefined,
    error?: unknown,
  ): void {
    this.metrics.handlerSeconds.observe((performance.now() - started) / 1_000);
    if (error === undefined) {
      if (span !== undefined) this.ackSpans.set(message, span);
      this.ack(message, lane);
    } else {
      if (span !== undefined) recordSpanError(span, error);
      this.settleFailure(lane, message, error, this.settings.maxDeliveries, span);
    }
    this.active -= 1;
    this.queues.release(lane.index, message.id);
    this.wake();
  }

  private count(lane: Lane<T>, outcome: Exclude<StreamOutcome, 'published'>, entries = 1): void {
    this.metrics.outcome(outcome).inc(entries);
    lane.metrics.outcome(outcome).inc(entries);
  }

  /** Queues an XACK; the acks of one event-loop turn go out as one command per lane. */
  private ack(message: StreamMessage<T>, lane: Lane<T>): void {
    lane.acks.push(message);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    for (const lane of this.lanes) {
      const batch = lane.acks;
      if (batch.length === 0) continue;
      lane.acks = [];
      const ids = batch.map((message) => message.id);
      const spans = this.ackSpans.size === 0 ? undefined : this.takeAckSpans(batch);
      this.track(
        this.client.xack(lane.key, this.group, ...ids).then(
          () => {
            this.count(lane, 'acked', batch.length);
            if (spans !== undefined) endAcked(spans, batch.length);
            if (this.onSettled) for (const message of batch) this.onSettled(message, 'acked');
          },
          // Still pending: delivered again once claimed, which at-least-once allows.
          (error: unknown) => {
            if (spans !== undefined) endAcked(spans, batch.length, error);
            this.warnings.report(
              'ack',
              `XACK of ${ids.length} entries failed; they will be redelivered`,
              error,
            );
          },
        ),
      );
    }
  }

  /** The process spans of the entries of an XACK batch that have one. */
  private takeAckSpans(batch: readonly StreamMessage<T>[]): RedkitSpan[] {
    const spans: RedkitSpan[] = [];
    for (const message of batch) {
      const span = this.ackSpans.get(message);
      if (span === undefined) continue;
      this.ackSpans.delete(message);
      spans.push(span);
    }
    return spans;
  }

  /**
   * Settles a failed delivery in one script: pending for a retry, or dead-lettered at
   * `maxDeliveries`. `span`: the delivery's process span (traced), which the settlement ends.
   */
  private settleFailure(
    lane: Lane<T>,
    message: StreamMessage<T>,
    error: unknown,
    maxDeliveries: number,
    span?: RedkitSpan,
  ): void {
    const text = describeError(error).slice(0, 4_096);
    const settle = (): Promise<[FailureVerdict, number]> =>
      SETTLE_FAILURE.run(
        this.client,
        [lane.key, this.deadLetterKey],
        [
          this.group,
          this.consumer,
          message.id,
          maxDeliveries,
          text,
          this.settings.deadLetterMaxLen,
          Date.now(),
          lane.priority,
        ],
      );
    this.track(
      (span !== undefined || messagingTracer.enabled
        ? traceSettleFailure(
            (this.spanAttributes ??= messagingSpanAttributes(this.connection)),
            { ...message, stream: this.stream, group: this.group },
            span,
            settle,
          )
        : settle()
      ).then(
        ([verdict, deliveries]) => {
          switch (verdict) {
            case 'retry':
              this.count(lane, 'retried');
              this.onSettled?.(message, 'retried');
              this.scheduleRetry(lane, message.id, deliveries);
              break;
            case 'dead':
              this.count(lane, 'dead_lettered');
              this.logger.warn(
                `entry ${message.id} (${lane.priority}) moved to the dead-letter stream after ${deliveries} deliveries: ${text}`,
              );
              this.onSettled?.(message, 'dead_lettered');
              break;
            case 'deleted':
              this.count(lane, 'deleted');
              this.onSettled?.({ id: message.id }, 'deleted');
              break;
            case 'lost':
              break;
          }
        },
        (cause: unknown) =>
          this.warnings.report(
            'settle',
            `cannot record the failure of ${message.id} (it stays pending)`,
            cause,
          ),
      ),
    );
  }

  private settleDeleted(lane: Lane<T>, id: string): void {
    this.count(lane, 'deleted');
    this.onSettled?.({ id }, 'deleted');
    this.track(this.client.xack(lane.key, this.group, id).catch(() => undefined));
  }

  /**
   * Delivers a failed entry again after `retryDelayMs`, by XCLAIM on its lane (which counts the
   * delivery); it then waits for a slot like any entry of that lane.
   */
  private scheduleRetry(lane: Lane<T>, id: string, deliveries: number): void {
    if (this.stopRequested) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.stopRequested) return;
      this.track(
        this.client.xclaim(lane.key, this.group, this.consumer, this.settings.retryDelayMs, id).then(
          (entries) => {
            const entry = (entries as RawEntry[])[0];
            // Empty: another consumer took it meanwhile, or it was deleted (Redis 7 drops it from the PEL).
            // Stopping: it stays pending, for another consumer.
            if (entry === undefined || this.stopRequested || this.queues.holds(lane.index, entry[0])) return;
            this.enqueue(lane, entry[0], entry[1], deliveries + 1);
            this.kick();
          },
          (error: unknown) =>
            this.warnings.report('retry', `retry of ${id} failed (it stays pending)`, error),
        ),
      );
    }, this.settings.retryDelayMs);
    this.retryTimers.add(timer);
  }

  private scheduleClaim(): void {
    if (this.stopRequested) return;
    this.claimTimer = setTimeout(() => {
      void this.claim()
        .then(() => this.deleteIdleConsumers())
        .finally(() => this.scheduleClaim());
    }, this.settings.claimIntervalMs);
  }

  /**
   * Samples the pending counts, keeps the entries it holds from looking idle, and takes over entries
   * idle longer than `claimIdleMs`, higher lanes first.
   */
  private async claim(): Promise<void> {
    try {
      const summaries = (await Promise.all(
        this.lanes.map((lane) => this.client.xpending(lane.key, this.group)),
      )) as [number, ...unknown[]][];
      let pending = 0;
      summaries.forEach((summary, index) => {
        const count = Number(summary[0]);
        pending += count;
        (this.lanes[index] as Lane<T>).metrics.setPending(count);
      });
      this.metrics.setPending(pending);
      await this.refreshWaiting();
      let free = this.settings.concurrency - this.active - this.queues.size;
      for (const lane of this.lanes) {
        if (free <= 0 || this.stopRequested) break;
        const [next, claimed, deleted] = (await this.client.call(
          'XAUTOCLAIM',
          lane.key,
          this.group,
          this.consumer,
          this.settings.claimIdleMs,
          lane.claimCursor,
          'COUNT',
          free,
        )) as [string, RawEntry[], string[] | undefined];
        lane.claimCursor = next;
        for (const id of deleted ?? []) {
          // Redis 7 has already removed them from the pending list; count them.
          this.count(lane, 'deleted');
          this.onSettled?.({ id }, 'deleted');
        }
        free -= claimed.length;
        await this.enqueueClaimed(lane, claimed);
      }
      this.kick();
    } catch (error) {
      if (isNoGroup(error)) {
        await this.ensureGroups().catch(() => undefined);
        return;
      }
      this.warnings.report('claim', 'claiming idle entries failed (retrying)', error);
    }
  }

  /**
   * Resets the idle time of the entries waiting here for longer than `claimIdleMs / 2` (XCLAIM JUSTID
   * to itself, which counts no delivery), so that no other consumer takes them over while they wait
   * their turn. One another consumer did take meanwhile (its idle time is below the threshold) is
   * not claimed back, and dropped from the waiting ones.
   */
  private async refreshWaiting(): Promise<void> {
    const threshold = Math.floor(this.settings.claimIdleMs / 2);
    const now = performance.now();
    for (const lane of this.lanes) {
      const stale = this.queues.waitingSince(lane.index, now - threshold);
      if (stale.length === 0) continue;
      const kept = new Set(
        (await this.client.xclaim(
          lane.key,
          this.group,
          this.consumer,
          threshold,
          ...stale.map((entry) => entry.id),
          'JUSTID',
        )) as unknown as string[],
      );
      const lost = new Set<Waiting<T>>();
      for (const entry of stale) {
        if (kept.has(entry.id)) entry.since = now;
        else lost.add(entry);
      }
      if (lost.size > 0) this.queues.drop(lane.index, lost);
    }
  }

  /** Removes consumers (of stopped processes) with nothing pending, idle past `deleteIdleConsumersAfterMs`. */
  private async deleteIdleConsumers(): Promise<void> {
    const after = this.settings.deleteIdleConsumersAfterMs;
    const now = performance.now();
    if (now - this.lastConsumerCleanup < Math.min(after, 60_000) || this.stopRequested) return;
    this.lastConsumerCleanup = now;
    try {
      await DELETE_IDLE_CONSUMERS.run(this.client, this.laneKeys, [this.group, this.consumer, after]);
    } catch (error) {
      this.warnings.report('cleanup', 'removing idle consumers failed', error);
    }
  }

  /** Delivery counts of entries pending to this consumer on a lane, as Redis keeps them (XPENDING). */
  private async deliveryCounts(lane: Lane<T>, entries: RawEntry[]): Promise<Map<string, number>> {
    const ids = entries.map(([id]) => id).sort(compareIds);
    const rows = (await this.client.xpending(
      lane.key,
      this.group,
      ids[0] as string,
      ids[ids.length - 1] as string,
      ids.length * 4,
      this.consumer,
    )) as [string, string, number, number][];
    return new Map(rows.map((row) => [row[0], Number(row[3])]));
  }

  private track(promise: Promise<unknown>): void {
    this.settling.add(promise);
    void promise.finally(() => this.settling.delete(promise));
  }
}

/** Orders stream ids (`<ms>-<seq>`) numerically. */
function compareIds(left: string, right: string): number {
  const [leftMs, leftSeq] = left.split('-');
  const [rightMs, rightSeq] = right.split('-');
  return Number(leftMs) - Number(rightMs) || Number(leftSeq) - Number(rightSeq);
}
