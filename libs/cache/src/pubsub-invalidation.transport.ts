import { DedicatedSubscriber, RedkitLogger, type RedisClient } from '@redkit/redis';
import { Cluster, type RedisOptions } from 'ioredis';

import { CacheError } from './cache.errors.js';
import type { L1InvalidationTarget, L1InvalidationTransport } from './l1-invalidation.interface.js';

/** Where a transport failed: sending an invalidation, or listening for them. */
export type InvalidationErrorOperation = 'publish' | 'subscribe';

/** Receives every failure of a transport; the default logs them without flooding. */
export type InvalidationErrorHandler = (op: InvalidationErrorOperation, error: unknown) => void;

/** The default log reports at most one failure per this period, with a count of those it skipped. */
const REPEAT_REPORT_MS = 30_000;

const RESOLVED: Promise<void> = Promise.resolve();

function ignore(): void {}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The per-node options of a client: its own for a standalone/Sentinel client, `redisOptions` for a Cluster. */
function nodeOptionsOf(client: RedisClient): Partial<RedisOptions> {
  return client instanceof Cluster ? (client.options.redisOptions ?? {}) : client.options;
}

/**
 * @internal start() of both transports: the subscriber's failure, same message, as this lib's error.
 * Before it listens, a subscriber rejects after its bound (and keeps trying), on a refusal, or when stopped.
 */
export function startInvalidationSubscriber(subscriber: DedicatedSubscriber): Promise<void> {
  return subscriber.start().catch((error: unknown) => {
    throw new CacheError(describeError(error), {
      cause: error instanceof Error ? (error.cause ?? error) : error,
    });
  });
}

/**
 * @internal Both transports' `onMissed`: invalidations may be missed from now on (the subscriber lost
 * its connection, or start() gave up while it keeps trying), so L1 answers no read alone until the
 * subscriber listens again and drops it all.
 */
export function suspendWhileDeaf(target: L1InvalidationTarget, report: InvalidationErrorHandler): () => void {
  return () => {
    try {
      target.suspend?.();
    } catch (error) {
      report('subscribe', error);
    }
  };
}

/**
 * @internal The default `onError` of both transports: a warning per failure, but at most one line per
 * 30 s (saying how many it skipped), so an outage that fails every publish does not flood the log.
 */
export function quietInvalidationErrorLog(context: string): InvalidationErrorHandler {
  const logger = new RedkitLogger(context);
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
  /**
   * Sharded pub/sub (Redis 7): `channel` is a shard channel (SPUBLISH / SSUBSCRIBE), so that on a
   * Cluster an invalidation reaches only the master owning its slot rather than every node. Default false.
   */
  sharded?: boolean;
}

/**
 * Cross-instance L1 invalidation over Redis pub/sub, on standalone, Sentinel and Cluster (classic
 * PUBLISH is broadcast to every node; with `sharded`, SPUBLISH reaches only the master owning the
 * channel, and its subscribers). Writers announce the keys (or a prefix) they changed; every other
 * instance drops them from its L1. It only covers writes made through redkit; for "any writer, even
 * redis-cli" use {@link ClientTrackingInvalidationTransport} on a standalone server.
 *
 * Guarantees: publish never rejects and is bounded by the client's `commandTimeout`; a malformed
 * message is reported and ignored; when the subscriber loses its connection, `target.suspend()` runs
 * (L1 answers no read alone: writes of other instances go unannounced meanwhile), and once it listens
 * again, `target.dropAll()`, since messages published meanwhile are gone for good (pub/sub keeps
 * nothing).
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
  private readonly sharded: boolean;
  private readonly instanceId: string;
  private readonly target: L1InvalidationTarget;
  private readonly report: InvalidationErrorHandler;
  private readonly subscriber: DedicatedSubscriber;
  /** Messages are built by concatenation: the sender part is the same for every message. */
  private readonly keysHead: string;
  private readonly prefixHead: string;

  constructor(options: PubSubInvalidationOptions) {
    const { client, channel, instanceId, target } = options;
    requireString('channel', channel);
    requireString('instanceId', instanceId);
    requireTarget(target);
    const sharded = options.sharded ?? false;
    if (typeof sharded !== 'boolean')
      throw new CacheError('L1 invalidation option "sharded" must be a boolean');
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
    this.sharded = sharded;
    this.instanceId = instanceId;
    this.target = target;
    this.report = options.onError ?? quietInvalidationErrorLog('RedkitCache:PubSubInvalidation');
    this.keysHead = `{"o":${JSON.stringify(instanceId)},"k":`;
    this.prefixHead = `{"o":${JSON.stringify(instanceId)},"p":`;
    this.subscriber = new DedicatedSubscriber({
      client,
      role: 'cache-invalidation',
      sharded,
      channels: [channel],
      onMessageBuffer: this.onMessage,
      onListening: this.onListening,
      onMissed: suspendWhileDeaf(target, this.report),
      onError: (error) => this.report('subscribe', error),
      startTimeoutMs: options.startTimeoutMs,
    });
  }

  /**
   * Resolves once subscribed. Rejects at once when Redis refuses SUBSCRIBE; rejects after
   * `startTimeoutMs` when Redis cannot be reached, but keeps trying, and drops all of L1 once it listens.
   */
  start(): Promise<void> {
    return startInvalidationSubscriber(this.subscriber);
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
      const sent = this.sharded
        ? this.client.spublish(this.channel, message)
        : this.client.publish(this.channel, message);
      return sent.then(ignore, this.onPublishFailure);
    } catch (error) {
      this.onPublishFailure(error);
      return RESOLVED;
    }
  }

  private readonly onPublishFailure = (error: unknown): void => {
    this.report('publish', error);
  };

  /** Listening again (after a lost connection, or after start() gave up): messages may have been missed. */
  private readonly onListening = (again: boolean): void => {
    if (!again) return;
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
