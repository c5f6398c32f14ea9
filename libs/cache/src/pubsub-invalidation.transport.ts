import { Logger } from '@nestjs/common';
import type { RedisClient } from '@redkit/redis';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';

import { CacheError } from './cache.errors.js';
import type { L1InvalidationTarget, L1InvalidationTransport } from './l1-invalidation.interface.js';

/** Where a transport failed: sending an invalidation, or listening for them. */
export type InvalidationErrorOperation = 'publish' | 'subscribe';

/** Receives every failure of a transport; the default logs them without flooding. */
export type InvalidationErrorHandler = (op: InvalidationErrorOperation, error: unknown) => void;

/** How long stop() waits for the socket to close before it stops waiting. */
const STOP_TIMEOUT_MS = 1_000;
/** The default log reports at most one failure per this period, with a count of those it skipped. */
const REPEAT_REPORT_MS = 30_000;
/** For the start() bound when the client does not say: ioredis's connectTimeout, redkit's commandTimeoutMs. */
const FALLBACK_CONNECT_TIMEOUT_MS = 10_000;
const FALLBACK_COMMAND_TIMEOUT_MS = 1_000;

const RESOLVED: Promise<void> = Promise.resolve();

function ignore(): void {}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Exponential back-off with jitter, for clients that carry no retry strategy of their own. */
function defaultReconnectDelay(attempt: number): number {
  const ceiling = Math.min(2_000, 50 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** The per-node options of a client: its own for a standalone/Sentinel client, `redisOptions` for a Cluster. */
function nodeOptionsOf(client: RedisClient): Partial<RedisOptions> {
  return client instanceof Cluster ? (client.options.redisOptions ?? {}) : client.options;
}

/**
 * @internal The default `onError` of both transports: a warning per failure, but at most one line per
 * 30 s (saying how many it skipped), so an outage that fails every publish does not flood the log.
 */
export function quietInvalidationErrorLog(context: string): InvalidationErrorHandler {
  const logger = new Logger(context);
  let lastReportAt = Number.NEGATIVE_INFINITY;
  let skipped = 0;
  return (op, error) => {
    const now = Date.now();
    if (now - lastReportAt < REPEAT_REPORT_MS) {
      skipped += 1;
      return;
    }
    const more = skipped > 0 ? ` (${skipped} more failures since the last report)` : '';
    logger.warn(`L1 invalidation ${op} failed: ${describeError(error)}${more}`);
    lastReportAt = now;
    skipped = 0;
  };
}

/** @internal What {@link InvalidationSubscriber} needs from the transport that owns it. */
export interface InvalidationSubscriberOptions {
  /** The main connection: the subscriber duplicates it (or, on a Cluster, one of its nodes). */
  client: RedisClient;
  /** Appended to the connection name, so the connection is recognisable in `CLIENT LIST`. */
  role: string;
  /** Runs on every new connection once it is ready and resolves once it listens (ends subscribed). */
  setUp(connection: Redis): Promise<void>;
  /** ioredis `messageBuffer` listener: the channel and the raw payload (a Buffer, an array or null). */
  onMessage(channel: Buffer, message: unknown): void;
  /** Listening again after start() settled: messages may have been missed meanwhile. */
  onListeningAgain(): void;
  /** A connection attempt or the set-up failed, or a listening connection was lost (once per connection). */
  onError(error: unknown): void;
  /** Bound on start(); by default the client's connectTimeout plus its commandTimeout. */
  startTimeoutMs?: number;
}

/**
 * @internal The dedicated subscriber connection both transports use, and what it guarantees:
 *
 * - Each connection is fresh and single-use (`retryStrategy: null`): when it ends, a new one is made
 *   after a back-off (the main client's own reconnect strategy) and set up from scratch, so state that a
 *   connection carries on the server (subscriptions, a client id, CLIENT TRACKING) is rebuilt in order,
 *   rather than resubscribed behind our back by ioredis (`autoResubscribe` is off).
 * - `onListeningAgain` runs only after the set-up has completed on the new connection. Anything written
 *   before that point may have gone unannounced, and dropping all of L1 after it covers exactly that.
 * - On a Cluster it connects to one node of the main client's current topology (classic pub/sub is
 *   broadcast to every node) and moves to another node when that one goes away. ioredis's own Cluster
 *   subscriber does the same silently, which would leave us unable to tell that messages were missed.
 * - `lazyConnect` is inherited from redkit's options, so every connection is connected explicitly.
 */
export class InvalidationSubscriber {
  private readonly startTimeoutMs: number;
  private connection?: Redis;
  /** The node the last Cluster connection went to, avoided next time when another is known. */
  private lastNode?: string;
  private attempts = 0;
  private retryTimer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;
  private starting?: Promise<void>;
  private resolveStart?: () => void;
  private rejectStart?: (error: Error) => void;
  private startSettled = false;
  private lastError: unknown;
  private stopping?: Promise<void>;

  constructor(private readonly options: InvalidationSubscriberOptions) {
    const node = nodeOptionsOf(options.client);
    this.startTimeoutMs =
      options.startTimeoutMs ??
      (node.connectTimeout ?? FALLBACK_CONNECT_TIMEOUT_MS) +
        (node.commandTimeout ?? FALLBACK_COMMAND_TIMEOUT_MS);
  }

  /**
   * Resolves once the first connection listens. Rejects at once when Redis refuses the set-up (an
   * error reply: unknown command, NOPERM), after which the subscriber is stopped; rejects after
   * `startTimeoutMs` when Redis cannot be reached, but then keeps connecting in the background and
   * calls `onListeningAgain` once it listens, until stop().
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new CacheError(`${this.options.role} subscriber was stopped`));
    this.starting ??= new Promise<void>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
      this.startTimer = setTimeout(() => {
        const last = this.lastError === undefined ? '' : `; last error: ${describeError(this.lastError)}`;
        this.settleStart(
          new CacheError(
            `${this.options.role} subscriber is not listening within ${this.startTimeoutMs} ms${last} ` +
              '(it keeps trying in the background)',
            { cause: this.lastError },
          ),
        );
      }, this.startTimeoutMs);
      this.open();
    });
    return this.starting;
  }

  /** Closes the connection (the server drops its subscriptions and tracking with it) and stops reconnecting. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.retryTimer);
      this.settleStart(new CacheError(`${this.options.role} subscriber was stopped before it listened`));
      const { connection } = this;
      this.connection = undefined;
      if (!connection || connection.status === 'end') return;
      const ended = new Promise<void>((resolve) => {
        connection.once('end', () => resolve());
        setTimeout(resolve, STOP_TIMEOUT_MS).unref();
      });
      connection.disconnect();
      await ended;
    })();
    return this.stopping;
  }

  private settleStart(error?: Error): void {
    if (this.startSettled || !this.starting) return;
    this.startSettled = true;
    clearTimeout(this.startTimer);
    if (error) this.rejectStart?.(error);
    else this.resolveStart?.();
    this.resolveStart = undefined;
    this.rejectStart = undefined;
  }

  private open(): void {
    this.retryTimer = undefined;
    if (this.stopping) return;
    let connection: Redis | undefined;
    let failure: unknown;
    try {
      connection = this.createConnection();
    } catch (error) {
      failure = error;
    }
    if (!connection) {
      this.lastError = failure ?? new CacheError('no node of the Redis Cluster is known yet');
      this.options.onError(this.lastError);
      this.scheduleOpen();
      return;
    }
    this.connection = connection;
    let reported = false;
    const report = (error: unknown): void => {
      this.lastError = error;
      if (reported) return;
      reported = true;
      this.options.onError(error);
    };
    connection.on('error', report);
    connection.on('messageBuffer', this.options.onMessage);
    connection.once('ready', () => void this.listen(connection, report));
    connection.once('end', () => {
      if (connection !== this.connection) return;
      this.connection = undefined;
      report(new CacheError(`${this.options.role} subscriber connection closed`));
      this.scheduleOpen();
    });
    connection.connect().catch(ignore);
  }

  private createConnection(): Redis | undefined {
    const { client, role } = this.options;
    const overrides: Partial<RedisOptions> = {
      lazyConnect: true,
      autoResubscribe: false,
      enableAutoPipelining: false,
      enableOfflineQueue: false,
      retryStrategy: null,
    };
    if (!(client instanceof Cluster)) {
      return client.duplicate({ ...overrides, connectionName: connectionName(client.options, role) });
    }
    const nodes = client.nodes('all');
    if (nodes.length === 0) return undefined;
    const others = nodes.filter((node) => nodeKey(node) !== this.lastNode);
    const candidates = others.length > 0 ? others : nodes;
    const node = candidates[Math.floor(Math.random() * candidates.length)];
    this.lastNode = nodeKey(node);
    return node.duplicate({ ...overrides, connectionName: connectionName(node.options, role) });
  }

  private async listen(connection: Redis, report: (error: unknown) => void): Promise<void> {
    try {
      await this.options.setUp(connection);
    } catch (error) {
      if (connection !== this.connection) return;
      // An error reply will not go away by retrying: fail start() with it rather than time out.
      if (!this.startSettled && error instanceof Error && error.name === 'ReplyError') {
        this.lastError = error;
        this.settleStart(
          new CacheError(`${this.options.role} subscriber was refused by Redis: ${error.message}`, {
            cause: error,
          }),
        );
        void this.stop();
        return;
      }
      report(error);
      connection.disconnect();
      return;
    }
    if (connection !== this.connection) return;
    this.attempts = 0;
    if (!this.startSettled) this.settleStart();
    else this.options.onListeningAgain();
  }

  private scheduleOpen(): void {
    if (this.stopping) return;
    this.attempts += 1;
    this.retryTimer = setTimeout(() => this.open(), this.reconnectDelay(this.attempts));
    // A pending start() holds the process through its own timer; a background retry alone must not.
    this.retryTimer.unref();
  }

  private reconnectDelay(attempt: number): number {
    const { client } = this.options;
    const strategy =
      client instanceof Cluster ? client.options.clusterRetryStrategy : client.options.retryStrategy;
    const delay = typeof strategy === 'function' ? strategy(attempt) : undefined;
    return typeof delay === 'number' && delay >= 0 ? delay : defaultReconnectDelay(attempt);
  }
}

function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

function connectionName(options: Partial<RedisOptions>, role: string): string {
  return `${options.connectionName || 'redkit'}-${role}`;
}

/** The wire format: compact JSON, `o` the sender's instance id, `k` keys or `p` a prefix to drop. */
interface InvalidationMessage {
  o: string;
  k?: string[];
  p?: string;
}

function parseInvalidation(text: string): InvalidationMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { o, k, p } = value as Record<string, unknown>;
  if (typeof o !== 'string') return undefined;
  if (k !== undefined && !(Array.isArray(k) && k.every((key) => typeof key === 'string'))) return undefined;
  if (p !== undefined && typeof p !== 'string') return undefined;
  if (k === undefined && p === undefined) return undefined;
  return { o, k, p };
}

/** Options of {@link PubSubInvalidationTransport}. */
export interface PubSubInvalidationOptions {
  /** The main connection: PUBLISH goes through it (bounded by its `commandTimeout`); it is duplicated to subscribe. */
  client: RedisClient;
  /** The channel every instance of the application publishes to and listens on. */
  channel: string;
  /** This instance's id, unique in the fleet: its own messages are ignored. */
  instanceId: string;
  /** This instance's L1. */
  target: L1InvalidationTarget;
  /** Every failure: `publish` (the invalidation may not have reached the others) or `subscribe`. */
  onError?: InvalidationErrorHandler;
  /** Bound on start(); by default the client's connectTimeout plus its commandTimeout. */
  startTimeoutMs?: number;
}

/**
 * Cross-instance L1 invalidation over Redis pub/sub, on standalone, Sentinel and Cluster (classic
 * PUBLISH is broadcast to every node). Writers announce the keys (or a prefix) they changed; every other
 * instance drops them from its L1. It only covers writes made through redkit; for "any writer, even
 * redis-cli" use {@link ClientTrackingInvalidationTransport} on a standalone server.
 *
 * Guarantees: publish never rejects and is bounded by the client's `commandTimeout`; a malformed
 * message is reported and ignored; after any disconnect of the subscriber, once it listens again,
 * `target.dropAll()` runs, since messages published meanwhile are gone for good (pub/sub keeps nothing).
 *
 * @example
 * const transport = new PubSubInvalidationTransport({
 *   client: connection.client, channel: 'redkit:cache:~invalidate', instanceId: randomUUID(), target: l1,
 * });
 * await transport.start();
 * await transport.publishKeys(['redkit:cache:default:user%3A42']);
 */
export class PubSubInvalidationTransport implements L1InvalidationTransport {
  private readonly client: RedisClient;
  private readonly channel: string;
  private readonly channelBuffer: Buffer;
  private readonly instanceId: string;
  private readonly target: L1InvalidationTarget;
  private readonly report: InvalidationErrorHandler;
  private readonly subscriber: InvalidationSubscriber;
  /** Messages are built by concatenation: the sender part is the same for every message. */
  private readonly keysHead: string;
  private readonly prefixHead: string;

  constructor(options: PubSubInvalidationOptions) {
    const { client, channel, instanceId, target } = options;
    requireString('channel', channel);
    requireString('instanceId', instanceId);
    requireTarget(target);
    const commandTimeout = nodeOptionsOf(client).commandTimeout;
    if (typeof commandTimeout !== 'number' || !(commandTimeout > 0)) {
      throw new CacheError(
        'PubSubInvalidationTransport option "client" must have a commandTimeout, so that publish is bounded ' +
          '(every @redkit/redis connection has one)',
      );
    }
    this.client = client;
    this.channel = channel;
    this.channelBuffer = Buffer.from(channel);
    this.instanceId = instanceId;
    this.target = target;
    this.report = options.onError ?? quietInvalidationErrorLog('RedkitCache:PubSubInvalidation');
    this.keysHead = `{"o":${JSON.stringify(instanceId)},"k":`;
    this.prefixHead = `{"o":${JSON.stringify(instanceId)},"p":`;
    this.subscriber = new InvalidationSubscriber({
      client,
      role: 'cache-invalidation',
      setUp: (connection) => connection.subscribe(channel).then(ignore),
      onMessage: this.onMessage,
      onListeningAgain: this.onListeningAgain,
      onError: (error) => this.report('subscribe', error),
      startTimeoutMs: options.startTimeoutMs,
    });
  }

  /** Resolves once subscribed; see {@link InvalidationSubscriber.start} for how it fails. */
  start(): Promise<void> {
    return this.subscriber.start();
  }

  /** Tells the other instances to drop these keys. Resolves (never rejects) once sent or failed. */
  publishKeys(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return RESOLVED;
    return this.publish(`${this.keysHead}${JSON.stringify(keys)}}`);
  }

  /** Tells the other instances to drop every key starting with `prefix`. Never rejects. */
  publishPrefix(prefix: string): Promise<void> {
    return this.publish(`${this.prefixHead}${JSON.stringify(prefix)}}`);
  }

  /** Closes the subscriber connection; the main client stays open (it is not ours). */
  stop(): Promise<void> {
    return this.subscriber.stop();
  }

  private publish(message: string): Promise<void> {
    try {
      return this.client.publish(this.channel, message).then(ignore, this.onPublishFailure);
    } catch (error) {
      this.onPublishFailure(error);
      return RESOLVED;
    }
  }

  private readonly onPublishFailure = (error: unknown): void => {
    this.report('publish', error);
  };

  private readonly onListeningAgain = (): void => {
    try {
      this.target.dropAll();
    } catch (error) {
      this.report('subscribe', error);
    }
  };

  private readonly onMessage = (channel: Buffer, payload: unknown): void => {
    if (!this.channelBuffer.equals(channel)) return;
    const message = Buffer.isBuffer(payload) ? parseInvalidation(payload.toString()) : undefined;
    if (!message) {
      // The payload is not quoted: it may carry keys built from user data.
      const size = Buffer.isBuffer(payload) ? `${payload.length} bytes` : typeof payload;
      this.report('subscribe', new CacheError(`malformed invalidation message (${size}) on ${this.channel}`));
      return;
    }
    if (message.o === this.instanceId) return;
    try {
      if (message.k) this.target.dropKeys(message.k);
      if (message.p !== undefined) this.target.dropPrefix(message.p);
    } catch (error) {
      // Thrown here, it would escape through ioredis's socket handler as an uncaught exception.
      this.report('subscribe', error);
    }
  };
}

function requireString(option: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CacheError(`L1 invalidation option "${option}" must be a non-empty string`);
  }
}

/** @internal Checks that `target` can drop keys, prefixes and everything. */
export function requireTarget(target: L1InvalidationTarget): void {
  for (const method of ['dropKeys', 'dropPrefix', 'dropAll'] as const) {
    if (typeof target?.[method] !== 'function') {
      throw new CacheError(`L1 invalidation option "target" must have a ${method}() method`);
    }
  }
}

/** @internal For the other transport's option checks. */
export { requireString as requireInvalidationOption };
