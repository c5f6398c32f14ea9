import { DedicatedSubscriber, type RedisClient } from '@redkit/redis';
import { Cluster, type Redis } from 'ioredis';

import { CacheError } from './cache.errors.js';
import type { L1InvalidationTarget, L1InvalidationTransport } from './l1-invalidation.interface.js';
import {
  quietInvalidationErrorLog,
  requireInvalidationOption,
  requireTarget,
  startInvalidationSubscriber,
  suspendWhileDeaf,
  type InvalidationErrorHandler,
} from './pubsub-invalidation.transport.js';

/** The channel Redis publishes tracking invalidations on, to a RESP2 client that redirects to it. */
const INVALIDATE_CHANNEL = '__redis__:invalidate';
const INVALIDATE_CHANNEL_BUFFER = Buffer.from(INVALIDATE_CHANNEL);

const RESOLVED: Promise<void> = Promise.resolve();

/** Options of {@link ClientTrackingInvalidationTransport}. */
export interface ClientTrackingInvalidationOptions {
  /** The main connection, standalone or Sentinel; it is only duplicated, never used for tracking itself. */
  client: RedisClient;
  /** Every key starting with this prefix is tracked (e.g. `redkit:cache:`). Not empty. */
  prefix: string;
  /** This instance's L1. */
  target: L1InvalidationTarget;
  /** Every failure of the tracking connection (always op `subscribe`: this transport never publishes). */
  onError?: InvalidationErrorHandler;
  /** Bound on start(); by default the client's connectTimeout plus its commandTimeout. */
  startTimeoutMs?: number;
}

/**
 * Cross-instance L1 invalidation by Redis server-assisted client-side caching (CLIENT TRACKING in
 * broadcasting mode, RESP2 redirect): the server itself announces every change of a key under `prefix`,
 * whoever made it, so even a `redis-cli SET`, an expiry, an eviction or a FLUSHALL reaches every
 * instance's L1. Standalone and Sentinel only: on a Cluster start() rejects (use pub/sub there).
 *
 * One dedicated connection does it all. On every connect it runs `CLIENT ID`, then
 * `CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX <prefix>`, then `SUBSCRIBE __redis__:invalidate`:
 * a RESP2 client may redirect to itself, and does not need to read anything, since BCAST reports keys by
 * prefix rather than by what the tracking client read. A separate tracking connection would add failure
 * states that cannot be seen over RESP2: the tracker alive with its redirect target gone (invalidations
 * silently dropped, since `tracking-redir-broken` is a RESP3 push), or the target alive with tracking gone.
 * With one connection, tracking and subscription live and die together, and after every reconnect the
 * whole set-up runs again, then `target.dropAll()` (writes made while it was down went unannounced).
 *
 * NOLOOP is not used: it hides only writes made on the tracking connection itself, and ours makes none;
 * this instance's writes go through the main connection, and Redis reports them back like anyone else's.
 * So a write also drops this instance's own fresh L1 copy, costing one L2 read later. Skipping our own
 * keys instead would be unsafe: a report cannot tell our write from another instance's write of the same
 * key a moment later.
 *
 * publishKeys and publishPrefix are no-ops: every write, delete and UNLINK (which is how a namespace is
 * cleared) is already announced by Redis, key by key.
 */
export class ClientTrackingInvalidationTransport implements L1InvalidationTransport {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly target: L1InvalidationTarget;
  private readonly report: InvalidationErrorHandler;
  private readonly subscriber: DedicatedSubscriber;

  constructor(options: ClientTrackingInvalidationOptions) {
    const { client, prefix, target } = options;
    requireInvalidationOption('prefix', prefix);
    requireTarget(target);
    this.client = client;
    this.prefix = prefix;
    this.target = target;
    this.report = options.onError ?? quietInvalidationErrorLog('RedkitCache:ClientTrackingInvalidation');
    this.subscriber = new DedicatedSubscriber({
      client,
      role: 'cache-tracking',
      setUp: this.setUp,
      channels: [INVALIDATE_CHANNEL],
      onMessageBuffer: this.onMessage,
      onListening: this.onListening,
      onMissed: suspendWhileDeaf(target, this.report),
      onError: (error) => this.report('subscribe', error),
      startTimeoutMs: options.startTimeoutMs,
    });
  }

  /**
   * Resolves once tracking is on and invalidations are subscribed. Rejects at once on a Cluster, or when
   * Redis refuses tracking (older than 6, or the ACL user may not run CLIENT).
   */
  start(): Promise<void> {
    if (this.client instanceof Cluster) {
      return Promise.reject(
        new CacheError(
          'client-side caching mode needs a standalone Redis or Sentinel connection; use pubsub invalidation on a Cluster',
        ),
      );
    }
    return startInvalidationSubscriber(this.subscriber);
  }

  /** A no-op: Redis announces the write itself. */
  publishKeys(_keys: readonly string[]): Promise<void> {
    return RESOLVED;
  }

  /** A no-op: a namespace is cleared by UNLINK, which Redis announces key by key. */
  publishPrefix(_prefix: string): Promise<void> {
    return RESOLVED;
  }

  /** Closes the tracking connection; Redis turns its tracking off with it. */
  stop(): Promise<void> {
    return this.subscriber.stop();
  }

  private readonly setUp = async (connection: Redis): Promise<void> => {
    const id = await connection.client('ID');
    // The subscriber subscribes INVALIDATE_CHANNEL next. Between these two replies an invalidation is
    // dropped (the target is not subscribed yet); the dropAll() that follows every reconnect covers that
    // moment, and at first start L1 is empty.
    await connection.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', 'PREFIX', this.prefix);
  };

  private readonly onListening = (again: boolean): void => {
    if (!again) return;
    try {
      this.target.dropAll();
    } catch (error) {
      this.report('subscribe', error);
    }
  };

  private readonly onMessage = (channel: Buffer, payload: unknown): void => {
    if (!INVALIDATE_CHANNEL_BUFFER.equals(channel)) return;
    try {
      // An array of keys; null when the server flushed a database (FLUSHALL, FLUSHDB) or, over RESP2,
      // anything else we cannot read key by key: dropping everything is always safe.
      if (Array.isArray(payload)) this.target.dropKeys(payload.map(String));
      else this.target.dropAll();
    } catch (error) {
      this.report('subscribe', error);
    }
  };
}
