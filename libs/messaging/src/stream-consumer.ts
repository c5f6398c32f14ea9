import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { Logger } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import type { RedisClient, RedisConnection } from '@redkit/redis';
import { Cluster } from 'ioredis';

import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { MessagingOptionsError } from './messaging.errors.js';
import { MessagingMetrics, type StreamMetrics, type StreamOutcome } from './messaging.metrics.js';
import type { StreamConsumerDefaults } from './messaging-options.interface.js';
import {
  nonEmptyString,
  resolveConsumerSettings,
  type ResolvedConsumerSettings,
} from './messaging-options.validator.js';
import { StreamKeys } from './stream-keys.js';
import { decodeEntry, type StreamMessage, type StreamMessageHandler } from './stream-message.js';
import { DELETE_IDLE_CONSUMERS, SETTLE_FAILURE } from './stream-scripts.js';
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
 * - The group is created on demand (XGROUP CREATE ... MKSTREAM), and again whenever Redis says it is
 *   gone (a restarted server without persistence, a failover to an empty replica).
 * - New entries are read with XREADGROUP BLOCK on a connection of its own (a blocked read would
 *   otherwise hold up every other command, and outlive the shared connection's command timeout), at
 *   most `concurrency` handlers running at once. Reads, acks and claims retry with back-off while Redis
 *   is unreachable, so the consumer resumes by itself when it is back.
 * - A failing entry is delivered again after `retryDelayMs` (XCLAIM, which counts the delivery); at
 *   `maxDeliveries` it is moved to the dead-letter stream `<...>:{<stream>}:dead-letter` with the
 *   error and the count, and acknowledged, in one Lua script.
 * - Every `claimIntervalMs` it takes over (XAUTOCLAIM) entries pending longer than `claimIdleMs` in any
 *   consumer, such as one that died; entries trimmed or deleted meanwhile are counted as `deleted`.
 * - `stop()` stops reading, lets running handlers finish and acknowledges them.
 */
export class StreamConsumer<T = unknown> {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly settings: ResolvedConsumerSettings;
  private readonly logger: Logger;
  private readonly warnings: ThrottledWarnings;
  private readonly key: string;
  private readonly deadLetterKey: string;
  private readonly handler: StreamMessageHandler<T>;
  private readonly onSettled?: StreamConsumerOptions<T>['onSettled'];
  private readonly metrics: StreamMetrics;
  private readonly client: RedisClient;
  private reader?: RedisClient;
  private running = false;
  private stopping?: Promise<void>;
  private stopRequested = false;
  private readLoop?: Promise<void>;
  private active = 0;
  private readonly activeIds = new Set<string>();
  private wakeReader?: () => void;
  private idle?: () => void;
  private ackBatch: StreamMessage<T>[] = [];
  private ackScheduled = false;
  private readonly settling = new Set<Promise<unknown>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private claimTimer?: NodeJS.Timeout;
  private claimCursor = '0-0';
  private lastConsumerCleanup = performance.now();

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
    const keys = new StreamKeys(connection.keyspace(MESSAGING_KEY_MODULE)).of(this.stream);
    this.key = keys.stream;
    this.deadLetterKey = keys.deadLetter;
    this.client = connection.client;
    const metrics =
      context.metrics instanceof MessagingMetrics
        ? context.metrics
        : new MessagingMetrics(context.metrics ?? new MetricsService());
    this.metrics = metrics.forStream(this.stream, this.group);
    this.logger = new Logger(`StreamConsumer ${this.stream}/${this.group}`);
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
   * Creates the group if needed, opens the reading connection and starts consuming. Rejects when
   * Redis refuses the group (e.g. the key holds something else than a stream); when Redis is merely
   * unreachable it starts anyway and keeps retrying in the background.
   */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.stopping)
      throw new MessagingOptionsError('consumer', 'a stopped consumer cannot be started again');
    this.running = true;
    try {
      await this.ensureGroup();
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
   * handled too), waits for running handlers, acknowledges them and closes the reading connection.
   * Entries waiting for a retry stay pending and are claimed later by another consumer.
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
    this.wakeReader?.();
    // Bounded: a read stuck past its timeout is abandoned by the watchdog anyway.
    await Promise.race([this.readLoop, sleep(this.readLimitMs() + 100, undefined, { ref: false })]);
    while (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
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

  private async ensureGroup(): Promise<void> {
    try {
      await this.client.xgroup('CREATE', this.key, this.group, this.settings.startId, 'MKSTREAM');
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('BUSYGROUP')) return;
      throw error;
    }
  }

  private async read(): Promise<void> {
    const { concurrency, batchSize, blockMs } = this.settings;
    let failures = 0;
    while (!this.stopRequested) {
      const free = concurrency - this.active;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.wakeReader = resolve));
        this.wakeReader = undefined;
        continue;
      }
      const reader = this.reader as RedisClient;
      let reply: [string, RawEntry[]][] | null;
      try {
        reply = await this.readWithWatchdog(
          reader.xreadgroup(
            'GROUP',
            this.group,
            this.consumer,
            'COUNT',
            Math.min(batchSize, free),
            'BLOCK',
            blockMs,
            'STREAMS',
            this.key,
            '>',
          ) as Promise<[string, RawEntry[]][] | null>,
        );
        failures = 0;
      } catch (error) {
        if (this.stopRequested) break;
        failures += 1;
        if (isNoGroup(error)) {
          this.logger.warn('the consumer group is gone (Redis restarted or failed over?); creating it again');
          await this.ensureGroup().catch((cause: unknown) =>
            this.warnings.report('group', 'cannot create the group', cause),
          );
        } else {
          this.warnings.report('read', 'XREADGROUP failed (retrying)', error);
        }
        await sleep(backoff(failures));
        continue;
      }
      const entries = reply?.[0]?.[1];
      if (entries === undefined) continue;
      for (const [id, fields] of entries) this.deliver(id, fields, 1);
    }
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
        const stuck = this.reader;
        if (stuck !== undefined && !this.stopRequested) {
          this.reader = this.openReader();
          stuck.disconnect();
        }
        reject(new Error(`XREADGROUP did not settle within ${limitMs} ms; reading connection replaced`));
      }, limitMs);
    });
    return Promise.race([read, watchdog]).finally(() => clearTimeout(timer));
  }

  private readLimitMs(): number {
    return this.settings.blockMs + this.connection.options.commandTimeoutMs + 1_000;
  }

  /** Hands one delivered entry to the handler. */
  private deliver(id: string, fields: string[] | null, deliveries: number): void {
    if (fields === null) {
      this.settleDeleted(id);
      return;
    }
    const message = decodeEntry(id, fields, this.stream, this.group, deliveries);
    if (typeof message === 'string') {
      // Not something StreamProducer wrote: retrying would not help.
      this.settleFailure({ id, deliveries } as StreamMessage<T>, new Error(`malformed entry: ${message}`), 0);
      return;
    }
    this.run(message as StreamMessage<T>);
  }

  private run(message: StreamMessage<T>): void {
    this.active += 1;
    this.activeIds.add(message.id);
    const started = performance.now();
    let result: unknown;
    try {
      result = this.handler(message);
    } catch (error) {
      this.finish(message, started, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.finish(message, started),
        (error: unknown) => this.finish(message, started, error ?? new Error('handler rejected')),
      );
    } else {
      this.finish(message, started);
    }
  }

  private finish(message: StreamMessage<T>, started: number, error?: unknown): void {
    this.metrics.handlerSeconds.observe((performance.now() - started) / 1_000);
    if (error === undefined) this.ack(message);
    else this.settleFailure(message, error, this.settings.maxDeliveries);
    this.active -= 1;
    this.activeIds.delete(message.id);
    this.wakeReader?.();
    if (this.active === 0) this.idle?.();
  }

  /** Queues an XACK; the acks of one event-loop turn go out as one command. */
  private ack(message: StreamMessage<T>): void {
    this.ackBatch.push(message);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    const batch = this.ackBatch;
    if (batch.length === 0) return;
    this.ackBatch = [];
    const ids = batch.map((message) => message.id);
    this.track(
      this.client.xack(this.key, this.group, ...ids).then(
        () => {
          this.metrics.outcome('acked').inc(batch.length);
          if (this.onSettled) for (const message of batch) this.onSettled(message, 'acked');
        },
        // Still pending: delivered again once claimed, which at-least-once allows.
        (error: unknown) =>
          this.warnings.report(
            'ack',
            `XACK of ${ids.length} entries failed; they will be redelivered`,
            error,
          ),
      ),
    );
  }

  private settleFailure(message: StreamMessage<T>, error: unknown, maxDeliveries: number): void {
    const text = describeError(error).slice(0, 4_096);
    this.track(
      SETTLE_FAILURE.run(
        this.client,
        [this.key, this.deadLetterKey],
        [
          this.group,
          this.consumer,
          message.id,
          maxDeliveries,
          text,
          this.settings.deadLetterMaxLen,
          Date.now(),
        ],
      ).then(
        ([verdict, deliveries]) => {
          switch (verdict) {
            case 'retry':
              this.metrics.outcome('retried').inc();
              this.onSettled?.(message, 'retried');
              this.scheduleRetry(message.id, deliveries);
              break;
            case 'dead':
              this.metrics.outcome('dead_lettered').inc();
              this.logger.warn(
                `entry ${message.id} moved to the dead-letter stream after ${deliveries} deliveries: ${text}`,
              );
              this.onSettled?.(message, 'dead_lettered');
              break;
            case 'deleted':
              this.metrics.outcome('deleted').inc();
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

  private settleDeleted(id: string): void {
    this.metrics.outcome('deleted').inc();
    this.onSettled?.({ id }, 'deleted');
    this.track(this.client.xack(this.key, this.group, id).catch(() => undefined));
  }

  /** Delivers a failed entry again after `retryDelayMs`, by XCLAIM (which counts the delivery). */
  private scheduleRetry(id: string, deliveries: number): void {
    if (this.stopRequested) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.stopRequested) return;
      this.track(
        this.client.xclaim(this.key, this.group, this.consumer, this.settings.retryDelayMs, id).then(
          (entries) => {
            const entry = (entries as RawEntry[])[0];
            // Empty: another consumer took it meanwhile, or it was deleted (Redis 7 drops it from the PEL).
            if (entry !== undefined) this.deliver(entry[0], entry[1], deliveries + 1);
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

  /** Samples the pending count and takes over entries idle longer than `claimIdleMs`. */
  private async claim(): Promise<void> {
    try {
      const summary = (await this.client.xpending(this.key, this.group)) as [number, ...unknown[]];
      this.metrics.setPending(Number(summary[0]));
      const free = this.settings.concurrency - this.active;
      if (free <= 0 || this.stopRequested) return;
      const [next, claimed, deleted] = (await this.client.call(
        'XAUTOCLAIM',
        this.key,
        this.group,
        this.consumer,
        this.settings.claimIdleMs,
        this.claimCursor,
        'COUNT',
        free,
      )) as [string, RawEntry[], string[] | undefined];
      this.claimCursor = next;
      for (const id of deleted ?? []) {
        // Redis 7 has already removed them from the pending list; count them.
        this.metrics.outcome('deleted').inc();
        this.onSettled?.({ id }, 'deleted');
      }
      const fresh = claimed.filter(([id]) => !this.activeIds.has(id));
      if (fresh.length === 0) return;
      const counts = await this.deliveryCounts(fresh);
      for (const [id, fields] of fresh) {
        const deliveries = counts.get(id) ?? this.settings.maxDeliveries;
        if (fields !== null && deliveries > this.settings.maxDeliveries) {
          // Its earlier consumers died with it, likely because of it: do not run it once more.
          this.settleFailure(
            { id, deliveries } as StreamMessage<T>,
            new Error(
              `delivered ${deliveries - 1} times without being settled (consumers stopped while handling it)`,
            ),
            this.settings.maxDeliveries,
          );
          continue;
        }
        this.deliver(id, fields, deliveries);
      }
    } catch (error) {
      if (isNoGroup(error)) {
        await this.ensureGroup().catch(() => undefined);
        return;
      }
      this.warnings.report('claim', 'claiming idle entries failed (retrying)', error);
    }
  }

  /** Removes consumers (of stopped processes) with nothing pending, idle past `deleteIdleConsumersAfterMs`. */
  private async deleteIdleConsumers(): Promise<void> {
    const after = this.settings.deleteIdleConsumersAfterMs;
    const now = performance.now();
    if (now - this.lastConsumerCleanup < Math.min(after, 60_000) || this.stopRequested) return;
    this.lastConsumerCleanup = now;
    try {
      await DELETE_IDLE_CONSUMERS.run(this.client, [this.key], [this.group, this.consumer, after]);
    } catch (error) {
      this.warnings.report('cleanup', 'removing idle consumers failed', error);
    }
  }

  private async deliveryCounts(entries: RawEntry[]): Promise<Map<string, number>> {
    const ids = entries.map(([id]) => id).sort(compareIds);
    const rows = (await this.client.xpending(
      this.key,
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
