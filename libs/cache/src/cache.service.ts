import { randomUUID } from 'node:crypto';

import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import {
  RedisKeyspace,
  RedkitLogger,
  scanKeys,
  type RedisClient,
  type RedisConnection,
  type RedkitSpan,
  type SpanAttributes,
} from '@redkit/redis';
import { Cluster } from 'ioredis';

import {
  CacheError,
  CacheLoaderError,
  CacheLoaderTimeoutError,
  CacheOptionsError,
  CacheValueTooLargeError,
} from './cache.errors.js';
import { CacheMetrics, type NamespaceMetrics } from './cache.metrics.js';
import {
  CACHE_FLIGHT,
  CACHE_HIT,
  CACHE_NAMESPACE,
  CACHE_STALE,
  cacheTracer,
  getOrSetSpanAttributes,
} from './cache.tracing.js';
import { decodeEntry, encodeEntry, LEASE_MARK, type CacheEntry, type LocalEntry } from './cache-entry.js';
import type {
  CacheGetOrSetOptions,
  CacheLoader,
  CacheModuleOptions,
  CacheSetOptions,
} from './cache-options.interface.js';
import {
  DEFAULT_NAMESPACE,
  resolveCacheOptions,
  type ResolvedCacheOptions,
  type ResolvedNamespaceOptions,
} from './cache-options.validator.js';
import {
  addToTagScript,
  claimLeaseScript,
  LEASE_BUSY,
  LEASE_SERVABLE,
  LEASE_TAKEN,
  releaseLeaseScript,
  type LeaseState,
} from './cache-scripts.js';
import type { CacheSerializer } from './cache-serializer.interface.js';
import { ClientTrackingInvalidationTransport } from './client-tracking-invalidation.transport.js';
import { L1Store, type L1KeyIndex } from './l1.store.js';
import { L2ReadBatcher } from './l2-read.batcher.js';
import { L2ReadRouter } from './l2-read.router.js';
import type { L1InvalidationTarget, L1InvalidationTransport } from './l1-invalidation.interface.js';
import { LandingNotifier } from './landing.notifier.js';
import { PubSubInvalidationTransport } from './pubsub-invalidation.transport.js';
import { RecentWrites } from './recent-writes.js';
import { richJsonSerializer } from './rich-json.serializer.js';

/** A namespace's settings, its key builder and its metric children, resolved once. */
interface Namespace extends ResolvedNamespaceOptions {
  keys: RedisKeyspace;
  /** `<prefix>:cache:<namespace>:`, the start of every key of the namespace. */
  base: string;
  /** User key -> Redis key, so a hot key is encoded once and its string hash is computed once. */
  redisKeys: Map<string, string>;
  /** Its L1 entries by user key: an L1 hit needs neither the Redis key nor a second lookup. */
  l1Keys: L1KeyIndex;
  metrics: NamespaceMetrics;
}

/** One getOrSet call as the loading paths need it: where, what, and how to load it. */
interface LoadRequest<T> {
  namespace: Namespace;
  redisKey: string;
  key: string;
  loader: CacheLoader<T>;
  options: CacheGetOrSetOptions;
  /** The caller's `cache getOrSet` span, while tracing; told where the answer came from. */
  span: RedkitSpan | undefined;
}

/**
 * What reading L2 found: an entry, nothing, or no answer from Redis. With distributed single-flight
 * also whether the read took the lease or found another instance's, and the clock it judged by.
 */
type L2Read = {
  entry: LocalEntry | undefined;
  failed: boolean;
  lease?: Exclude<LeaseState, typeof LEASE_SERVABLE>;
  readAt?: number;
};

/** A distributed single-flight lease this instance holds: whether the store has ended it. */
interface HeldLease {
  ended: boolean;
}

/** A read that found the key empty and took its lease in the same command. */
const L2_LEASED: L2Read = Object.freeze({ entry: undefined, failed: false, lease: LEASE_TAKEN });

const L2_MISS: L2Read = Object.freeze({ entry: undefined, failed: false });
const L2_FAILED: L2Read = Object.freeze({ entry: undefined, failed: true });

const STALE = Symbol('stale');

/** The options of a call that passes none, shared rather than allocated per call. */
const NO_OPTIONS: Readonly<CacheGetOrSetOptions> = Object.freeze({});

/**
 * Whether the adapters send `value` as the JSON text of `JSON.stringify(value)`: an array or a plain
 * object. Not a Buffer (sent as bytes), a stream or a file; not a string (sent as text).
 */
function isJsonBody(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Memoized Redis keys per namespace; the memo is dropped whole when it grows past this. */
const KEY_MEMO_LIMIT = 50_000;

/**
 * A two-level cache: L1 in the process (an LRU), L2 in Redis. See the README for the guarantees;
 * in short: one loader run per key per process (and optionally across instances), stale values
 * served during grace and instead of errors, other instances' L1 copies dropped on every write,
 * and every Redis call bounded so a slow Redis never holds a request past its budget.
 *
 * @example
 * const user = await cache.getOrSet(`user:${id}`, () => users.load(id), { ttlMs: 30_000, tags: ['users'] });
 */
export class CacheService implements OnModuleInit, OnApplicationShutdown {
  /** Identifies this instance in invalidation messages, so it can ignore its own. */
  readonly instanceId = randomUUID();
  private readonly logger = new RedkitLogger('Cache');
  private readonly l1: L1Store;
  private readonly namespaces = new Map<string, Namespace>();
  /** The namespace of calls that name none, without a map lookup. */
  private readonly defaultNamespace: Namespace;
  private readonly flights = new Map<string, Promise<unknown>>();
  private readonly refreshes = new Set<string>();
  private readonly serializer: CacheSerializer;
  private readonly client: RedisClient;
  /** Plain L2 reads: to the primary, or to a replica with `l2Reads: 'replica'`. */
  private readonly l2Reads: L2ReadRouter;
  private readonly options: ResolvedCacheOptions;
  private readonly transport?: L1InvalidationTransport;
  private readonly landing?: LandingNotifier;
  /** Where a lease holder announces that a value landed (or that the lease ended without one). */
  private readonly landingChannel: string;
  /** On a Cluster with `shardedPubSub`: invalidations and landing notices go out by SPUBLISH. */
  private readonly shardedPubSub: boolean;
  /** This instance's distributed single-flight lease, as written into an entry's key. */
  private readonly leaseMark = `${LEASE_MARK}${this.instanceId}`;
  private readonly tagKeys: RedisKeyspace;
  /** The `cache getOrSet` span attributes per namespace, made on the first traced call. */
  private readonly spanAttributes = new Map<string, SpanAttributes>();
  private pendingInvalidations: string[] = [];
  private invalidationFlush?: Promise<void>;

  constructor(
    private readonly connection: RedisConnection,
    options: CacheModuleOptions = {},
    metrics: MetricsService = new MetricsService(),
  ) {
    this.options = resolveCacheOptions(options);
    this.serializer = options.serializer ?? richJsonSerializer;
    this.client = connection.client;
    this.l1 = new L1Store(this.options.l1MaxEntries, this.options.l1MaxBytes);
    const cacheMetrics = new CacheMetrics(metrics, this.l1);
    this.l2Reads = this.l2ReadRouter(cacheMetrics);
    const { keyPrefix, maxKeyPartBytes } = connection.options;
    for (const [name, resolved] of this.options.namespaces) {
      const keys = new RedisKeyspace(keyPrefix, 'cache', {
        maxPartBytes: maxKeyPartBytes,
        onTooLong: 'hash',
      });
      this.namespaces.set(name, {
        ...resolved,
        keys,
        base: `${keys.key(name)}:`,
        redisKeys: new Map(),
        l1Keys: this.l1.createIndex(),
        metrics: cacheMetrics.forNamespace(name),
      });
    }
    this.defaultNamespace = this.namespaces.get(DEFAULT_NAMESPACE) as Namespace;
    this.tagKeys = new RedisKeyspace(keyPrefix, 'cache', {
      maxPartBytes: maxKeyPartBytes,
      onTooLong: 'hash',
    });
    const control = `${keyPrefix}:cache:~`;
    this.shardedPubSub = this.options.shardedPubSub && this.client instanceof Cluster;
    this.landingChannel = `${control}landed`;
    const onError = (op: string, error: unknown) => {
      // A refusal for the ACL user is logged once and reported by the connection's health instead.
      if (connection.notePermission('cache', error) !== undefined) return;
      this.logger.warn(
        `invalidation ${op} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    };
    if (this.options.invalidation === 'pubsub') {
      this.transport = new PubSubInvalidationTransport({
        client: this.client,
        channel: `${control}invalidate`,
        instanceId: this.instanceId,
        target: this.invalidationTarget(cacheMetrics),
        onError,
        sharded: this.shardedPubSub,
      });
    } else if (this.options.invalidation === 'tracking') {
      this.transport = new ClientTrackingInvalidationTransport({
        client: this.client,
        prefix: `${keyPrefix}:cache:`,
        target: this.invalidationTarget(cacheMetrics),
        onError,
      });
    }
    if ([...this.namespaces.values()].some((namespace) => namespace.distributedSingleFlight)) {
      this.landing = new LandingNotifier(this.client, this.landingChannel, this.shardedPubSub);
    }
  }

  /** Reads to the primary, or with `l2Reads: 'replica'` to the connection's replica client. */
  private l2ReadRouter(metrics: CacheMetrics): L2ReadRouter {
    const primary = new L2ReadBatcher(this.client, this.leaseMark);
    if (this.options.l2Reads === 'primary') return new L2ReadRouter(primary);
    if (this.connection.options.topology.kind === 'standalone') {
      throw new CacheOptionsError(
        'l2Reads',
        `is "replica" but connection "${this.connection.name}" is a standalone server, which has no replica to read; give RedisModule a sentinel or cluster, or use "primary"`,
      );
    }
    const client = this.connection.replicaClient();
    return new L2ReadRouter(primary, {
      client,
      batcher: new L2ReadBatcher(client),
      recent: new RecentWrites(this.options.readYourWritesMs),
      counters: metrics.replicaReads(),
    });
  }

  async onModuleInit(): Promise<void> {
    try {
      await Promise.all([this.transport?.start(), this.landing?.start()]);
    } catch (error) {
      // Redis refused the subscriber's set-up for the ACL user (CLIENT TRACKING, SUBSCRIBE): startup
      // fails with the refusal typed, logged once and reported by the connection's health.
      const cause = error instanceof Error ? (error.cause ?? error) : error;
      const refused = this.connection.notePermission('cache', cause);
      if (refused === undefined) throw error;
      throw new CacheError(refused.message, { cause: refused });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.flights.values());
    await Promise.all([this.transport?.stop(), this.landing?.stop()]);
  }

  /** Entries and bytes L1 holds now. */
  get l1Usage(): { entries: number; bytes: number } {
    return { entries: this.l1.size, bytes: this.l1.bytes };
  }

  /** The fresh value under `key`, or undefined. With Redis unreachable, whatever L1 still holds. */
  get<T>(key: string, options: { namespace?: string } = NO_OPTIONS): Promise<T | undefined> {
    const namespace = this.namespace(options.namespace);
    const now = Date.now();
    const local = namespace.l1 ? this.l1.read(namespace.l1Keys, key, now) : undefined;
    if (local !== undefined && local.localUntil > now) {
      namespace.metrics.hitL1.inc();
      return Promise.resolve(local.value as T);
    }
    // Outside the async part: a key that cannot be encoded throws here, as it always has.
    return this.getFromL2<T>(namespace, this.redisKey(namespace, key), key, local, now);
  }

  /** The L2 half of {@link get}, with the read inlined: it is the path of every L1 miss. */
  private async getFromL2<T>(
    namespace: Namespace,
    redisKey: string,
    key: string,
    local: LocalEntry | undefined,
    now: number,
  ): Promise<T | undefined> {
    const generation = this.l1.now();
    const started = performance.now();
    let text: string | null;
    try {
      text = await this.l2Reads.read(redisKey);
    } catch (error) {
      this.connection.notePermission('cache', error);
      namespace.metrics.error('l2_get');
      if (local !== undefined && local.freshUntil > now) {
        namespace.metrics.hitL1.inc();
        return local.value as T;
      }
      namespace.metrics.miss.inc();
      return undefined;
    } finally {
      namespace.metrics.l2Seconds('get').observe((performance.now() - started) / 1000);
    }
    const entry = text === null ? undefined : decodeEntry(text, this.serializer);
    if (entry !== undefined && entry.freshUntil > now) {
      this.fillL1(namespace, redisKey, key, entry, now, generation);
      namespace.metrics.hitL2.inc();
      return entry.value as T;
    }
    namespace.metrics.miss.inc();
    return undefined;
  }

  /**
   * For HTTP routes with `preserializedHits`: the JSON text of the fresh value L1 holds under `key`
   * (made once per entry, see `L1Store.jsonOf`), counted as an L1 hit; undefined when L1 has no
   * fresh object or array there, or an early refresh is due, and the caller goes through
   * {@link getOrSet}. Synchronous: a hit answers without a promise.
   * @internal
   */
  heldJson(key: string, namespaceName: string | undefined): string | undefined {
    const namespace = this.namespace(namespaceName);
    if (!namespace.l1) return undefined;
    const now = Date.now();
    const local = this.l1.read(namespace.l1Keys, key, now);
    if (local === undefined || local.localUntil <= now) return undefined;
    if (!isJsonBody(local.value)) return undefined;
    if (namespace.earlyRefresh > 0 && this.shouldRefreshEarly(namespace, local, now)) return undefined;
    let json: string | undefined;
    try {
      json = this.l1.jsonOf(local);
    } catch {
      // No JSON text for it (a BigInt, a cycle): the adapter's own serialization says so.
      return undefined;
    }
    if (json !== undefined) namespace.metrics.hitL1.inc();
    return json;
  }

  /** Whether a fresh value is cached under `key`. */
  async has(key: string, options: { namespace?: string } = NO_OPTIONS): Promise<boolean> {
    return (await this.get(key, options)) !== undefined;
  }

  /**
   * Stores `value` in L1 and L2 and tells other instances to drop their copy. `undefined` is not
   * stored; `null` only with `cacheNull`. Throws {@link CacheValueTooLargeError} over
   * `maxValueBytes`. With Redis unreachable the L2 write is skipped (counted), not queued.
   */
  async set<T>(key: string, value: T, options: CacheSetOptions = NO_OPTIONS): Promise<void> {
    const namespace = this.namespace(options.namespace);
    const redisKey = this.redisKey(namespace, key);
    const stored = await this.store(namespace, redisKey, key, value, options);
    if (stored === 'too_large') {
      const bytes = Buffer.byteLength(this.serializer.serialize(value));
      throw new CacheValueTooLargeError(key, bytes, this.options.maxValueBytes);
    }
  }

  /** Removes `key` from L1 and L2, here and on every other instance. */
  async delete(key: string, options: { namespace?: string } = NO_OPTIONS): Promise<void> {
    const namespace = this.namespace(options.namespace);
    const redisKey = this.redisKey(namespace, key);
    // A drop, not a plain delete: an L2 read already in flight must not put the old value back.
    this.l1.dropKeys([redisKey]);
    this.l2Reads.noteKey(redisKey);
    await Promise.all([this.unlink(namespace, [redisKey]), this.invalidate(namespace, redisKey)]);
    // Reads from replicas: the read-your-writes window runs from when the write is done.
    this.l2Reads.noteKey(redisKey);
  }

  /**
   * The value under `key`, loading and storing it on a miss. However many callers ask for one
   * cold key at once, the loader runs once in this process (and once across instances with
   * `distributedSingleFlight`). During grace the stale value is returned at once and refreshed in
   * the background; if the loader fails or times out, a stale value is served instead of the error.
   * Without one, the error surfaces as {@link CacheLoaderError} or {@link CacheLoaderTimeoutError}.
   */
  getOrSet<T>(key: string, loader: CacheLoader<T>, options: CacheGetOrSetOptions = NO_OPTIONS): Promise<T> {
    if (cacheTracer.enabled) return this.tracedGetOrSet(key, loader, options);
    return this.getOrSetWith(key, loader, options, undefined);
  }

  /** {@link getOrSet} in a `cache getOrSet` span that records where the answer came from. */
  private tracedGetOrSet<T>(key: string, loader: CacheLoader<T>, options: CacheGetOrSetOptions): Promise<T> {
    const name = options.namespace ?? DEFAULT_NAMESPACE;
    let attributes = this.spanAttributes.get(name);
    if (attributes === undefined) {
      attributes = getOrSetSpanAttributes(this.connection, name);
      // Unknown names throw in the span (an error to record), and are not remembered.
      if (this.namespaces.has(name)) this.spanAttributes.set(name, attributes);
    }
    return cacheTracer.trace('cache getOrSet', { attributes }, (span) =>
      this.getOrSetWith(key, loader, options, span),
    );
  }

  private getOrSetWith<T>(
    key: string,
    loader: CacheLoader<T>,
    options: CacheGetOrSetOptions,
    span: RedkitSpan | undefined,
  ): Promise<T> {
    const namespace = this.namespace(options.namespace);
    const now = Date.now();
    const local = namespace.l1 ? this.l1.read(namespace.l1Keys, key, now) : undefined;
    if (local !== undefined && local.localUntil > now) {
      namespace.metrics.hitL1.inc();
      span?.setAttribute(CACHE_HIT, 'l1');
      if (namespace.earlyRefresh > 0 && this.shouldRefreshEarly(namespace, local, now)) {
        const redisKey = this.redisKey(namespace, key);
        this.refreshInBackground({ namespace, redisKey, key, loader, options, span: undefined }, local);
      }
      return Promise.resolve(local.value as T);
    }
    const redisKey = this.redisKey(namespace, key);
    if (local !== undefined) {
      const softMs = options.loaderSoftTimeoutMs ?? namespace.loaderSoftTimeoutMs;
      // In grace: without a soft timeout, serve stale at once (stale-while-revalidate); with one,
      // the flight below gives the loader that long before falling back to the stale value.
      if (local.freshUntil <= now && local.staleUntil > now && softMs === undefined) {
        namespace.metrics.staleServed.inc();
        span?.setAttributes({ [CACHE_HIT]: 'l1', [CACHE_STALE]: true });
        this.refreshInBackground({ namespace, redisKey, key, loader, options, span: undefined }, local);
        return Promise.resolve(local.value as T);
      }
    }
    let flight = this.flights.get(redisKey);
    if (flight === undefined) {
      flight = this.load({ namespace, redisKey, key, loader, options, span }, local);
      this.flights.set(redisKey, flight);
      const forget = () => this.flights.delete(redisKey);
      flight.then(forget, forget);
    } else span?.setAttribute(CACHE_FLIGHT, 'joined');
    return flight as Promise<T>;
  }

  /**
   * `fn` wrapped so each call goes through {@link getOrSet} under the key `keyOf(...args)`.
   *
   * @example
   * const cachedPrice = cache.wrap((symbol: string) => prices.fetch(symbol), { key: (symbol) => `price:${symbol}`, ttlMs: 1000 });
   */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => Promise<T> | T,
    options: CacheGetOrSetOptions & { key: (...args: A) => string },
  ): (...args: A) => Promise<T> {
    const { key, ...rest } = options;
    return (...args: A) => this.getOrSet(key(...args), () => fn(...args), rest);
  }

  /** Removes every entry stored with `tag` (L1 and L2, every instance); returns how many. */
  async deleteByTag(tag: string, options: { namespace?: string } = {}): Promise<number> {
    const namespace = this.namespace(options.namespace);
    const tagKey = this.tagKey(namespace, tag);
    let members: string[];
    try {
      members = await this.client.smembers(tagKey);
    } catch (error) {
      namespace.metrics.error('l2_delete');
      throw this.connection.notePermission('cache', error) ?? error;
    }
    this.l1.dropKeys(members);
    this.l2Reads.noteKeys(members);
    if (this.transport !== undefined) namespace.metrics.invalidationsSent.inc(members.length);
    await Promise.all([this.unlink(namespace, [...members, tagKey]), this.transport?.publishKeys(members)]);
    this.l2Reads.noteKeys(members);
    return members.length;
  }

  /** Removes every entry of a namespace (SCAN + UNLINK, never KEYS); other namespaces stay. */
  async clear(namespaceName?: string): Promise<number> {
    const namespace = this.namespace(namespaceName);
    this.l1.dropPrefix(namespace.base);
    this.l2Reads.notePrefix(namespace.base);
    let removed = 0;
    for await (const batch of scanKeys(this.client, `${namespace.base}*`)) {
      await this.unlink(namespace, batch);
      removed += batch.length;
    }
    this.l1.dropPrefix(namespace.base);
    this.l2Reads.notePrefix(namespace.base);
    if (this.transport !== undefined) namespace.metrics.invalidationsSent.inc();
    await this.transport?.publishPrefix(namespace.base);
    return removed;
  }

  /** L1 as the invalidation transports see it: what they drop is counted per namespace. */
  private invalidationTarget(metrics: CacheMetrics): L1InvalidationTarget {
    const { l1, l2Reads } = this;
    // Reading from replicas, what another instance just changed is read from the primary for a
    // while too: a lagging replica's older copy would otherwise land in L1 for l1TtlMs.
    return {
      dropKeys: (keys) => {
        for (const key of keys) this.namespaceOfKey(key)?.metrics.invalidationsReceived.inc();
        l1.dropKeys(keys);
        l2Reads.noteKeys(keys);
      },
      dropPrefix: (prefix) => {
        this.namespaceOfKey(prefix)?.metrics.invalidationsReceived.inc();
        l1.dropPrefix(prefix);
        l2Reads.notePrefix(prefix);
      },
      // Only ever called when the subscriber listens again, after messages may have been missed.
      dropAll: () => {
        metrics.resubscriptions.inc();
        l1.dropAll();
        l2Reads.noteEverything();
      },
      // The subscriber is gone: until it listens again, L1 backs Redis up but answers nothing alone.
      suspend: () => l1.suspendHits(),
    };
  }

  /** The namespace a Redis key belongs to (bases end in ':', so none is a prefix of another). */
  private namespaceOfKey(key: string): Namespace | undefined {
    for (const namespace of this.namespaces.values()) if (key.startsWith(namespace.base)) return namespace;
    return undefined;
  }

  private namespace(name: string | undefined): Namespace {
    if (name === undefined) return this.defaultNamespace;
    const namespace = this.namespaces.get(name);
    if (namespace === undefined) {
      throw new CacheOptionsError(
        'namespace',
        `"${name}" is not configured; add it to CacheModule's namespaces option`,
      );
    }
    return namespace;
  }

  /**
   * Tells other instances to drop `redisKey`. Keys written in the same turn of the event loop go
   * out in one message, so a burst of writes costs one PUBLISH, not one per write.
   */
  private invalidate(namespace: Namespace, redisKey: string): Promise<void> {
    const transport = this.transport;
    if (transport === undefined) return Promise.resolve();
    namespace.metrics.invalidationsSent.inc();
    this.pendingInvalidations.push(redisKey);
    this.invalidationFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const keys = this.pendingInvalidations;
      this.pendingInvalidations = [];
      this.invalidationFlush = undefined;
      return transport.publishKeys(keys);
    });
    return this.invalidationFlush;
  }

  /** `<base><encoded key>`, memoized: building it on every read costs more than the L1 lookup. */
  private redisKey(namespace: Namespace, key: string): string {
    let redisKey = namespace.redisKeys.get(key);
    if (redisKey === undefined) {
      if (namespace.redisKeys.size >= KEY_MEMO_LIMIT) namespace.redisKeys.clear();
      redisKey = namespace.base + namespace.keys.part(key);
      namespace.redisKeys.set(key, redisKey);
    }
    return redisKey;
  }

  private tagKey(namespace: Namespace, tag: string): string {
    return this.tagKeys.key(namespace.name, '~tag', tag);
  }

  private async load<T>(request: LoadRequest<T>, local: LocalEntry | undefined): Promise<T> {
    const { namespace, redisKey, options } = request;
    const generation = this.l1.now();
    const servesStale = (options.loaderSoftTimeoutMs ?? namespace.loaderSoftTimeoutMs) === undefined;
    // With distributed single-flight, the read also takes the lease when it finds nothing to serve.
    const leased = namespace.distributedSingleFlight !== undefined && this.landing !== undefined;
    const remote = leased
      ? await this.readOrLease(request, servesStale)
      : await this.readL2(namespace, redisKey);
    const now = remote.readAt ?? Date.now();
    const { entry } = remote;
    if (entry !== undefined && entry.freshUntil > now) {
      if (remote.lease === LEASE_TAKEN) void this.releaseLease(request);
      this.fillL1(namespace, redisKey, request.key, entry, now, generation);
      namespace.metrics.hitL2.inc();
      request.span?.setAttribute(CACHE_HIT, 'l2');
      return entry.value as T;
    }
    const inGrace = entry !== undefined && entry.staleUntil > now ? entry : undefined;
    if (inGrace !== undefined && servesStale) {
      if (remote.lease === LEASE_TAKEN) void this.releaseLease(request);
      this.fillL1(namespace, redisKey, request.key, inGrace, now, generation);
      namespace.metrics.staleServed.inc();
      request.span?.setAttributes({ [CACHE_HIT]: 'l2', [CACHE_STALE]: true });
      this.refreshInBackground(request, inGrace);
      return inGrace.value as T;
    }
    // Redis did not answer, but L1 still holds a value its TTL allows: serve it rather than reload.
    if (remote.failed && local !== undefined && local.freshUntil > now) {
      namespace.metrics.hitL1.inc();
      request.span?.setAttribute(CACHE_HIT, 'l1');
      return local.value as T;
    }
    namespace.metrics.miss.inc();
    request.span?.setAttribute(CACHE_HIT, 'miss');
    const stale = inGrace ?? (local !== undefined && local.staleUntil > now ? local : undefined);
    if (remote.lease === LEASE_TAKEN) return this.loadUnderLease(request, stale);
    if (remote.lease === LEASE_BUSY) return this.awaitLanding(request, stale);
    // Redis just failed to answer a read: keep the value in L1 only rather than spend another
    // command timeout on a write, so a miss costs at most one timeout plus the loader.
    return this.loadAndStore(request, stale, !remote.failed);
  }

  private async loadAndStore<T>(
    request: LoadRequest<T>,
    stale: CacheEntry | undefined,
    writeL2 = true,
  ): Promise<T> {
    const { namespace, redisKey, options } = request;
    const value = await this.runLoader(request, stale);
    if (value === STALE) return this.servedStale(request, stale as CacheEntry);
    if (options.shouldStore !== undefined && !options.shouldStore(value)) return value;
    await this.store(namespace, redisKey, request.key, value, options, writeL2);
    return value;
  }

  /**
   * Distributed single-flight, first step: `SET NX GET` reads the entry and, when the key is empty,
   * takes its lease in the same command, so a miss costs one round trip as without distributed
   * single-flight. Only when it finds something it cannot serve (another instance's lease, an entry
   * to reload) does a script settle who loads.
   */
  private async readOrLease<T>(request: LoadRequest<T>, servesStale: boolean): Promise<L2Read> {
    const { namespace, redisKey } = request;
    const leaseMs = Math.ceil((namespace.distributedSingleFlight as { leaseMs: number }).leaseMs);
    const started = performance.now();
    try {
      const text = await this.l2Reads.readOrLease(redisKey, leaseMs);
      if (text === null) return L2_LEASED;
      let readAt = Date.now();
      if (!text.startsWith(LEASE_MARK)) {
        const entry = decodeEntry(text, this.serializer);
        if (
          entry !== undefined &&
          (entry.freshUntil > readAt || (servesStale && entry.staleUntil > readAt))
        ) {
          return { entry, failed: false, readAt };
        }
      }
      readAt = Date.now();
      const [claimed, state] = await claimLeaseScript.run(
        this.client,
        [redisKey],
        [this.instanceId, leaseMs, readAt, servesStale ? '1' : '0'],
      );
      const entry = claimed === null ? undefined : decodeEntry(claimed, this.serializer);
      return { entry, failed: false, lease: state === LEASE_SERVABLE ? undefined : state, readAt };
    } catch (error) {
      this.connection.notePermission('cache', error);
      namespace.metrics.error('l2_get');
      return L2_FAILED;
    } finally {
      namespace.metrics.l2Seconds('get').observe((performance.now() - started) / 1000);
    }
  }

  /**
   * This instance holds the lease: load, then store with `SET GET`, which ends the lease (it lives
   * in the entry's key) and tells whether anyone waits; only then is the landing announced. If
   * nothing is stored (the loader failed, its value is refused, or the stale value is served), the
   * lease is ended by a script.
   */
  private async loadUnderLease<T>(request: LoadRequest<T>, stale: CacheEntry | undefined): Promise<T> {
    const { namespace, redisKey, key, options } = request;
    const lease: HeldLease = { ended: false };
    try {
      const value = await this.runLoader(request, stale);
      if (value === STALE) return this.servedStale(request, stale as CacheEntry);
      if (options.shouldStore !== undefined && !options.shouldStore(value)) return value;
      await this.store(namespace, redisKey, key, value, options, true, lease);
      return value;
    } finally {
      if (!lease.ended) await this.releaseLease(request);
    }
  }

  /**
   * After a lease holder's store: announces the landing unless what the store replaced was this
   * instance's own lease that nobody marked. Anything else means someone may wait (a waiter's mark,
   * or the lease expired and was replaced). Never throws.
   */
  private async landed(redisKey: string, replaced: string | null): Promise<void> {
    const mark = this.leaseMark;
    const quiet =
      replaced !== null &&
      replaced.startsWith(mark) &&
      (replaced.length === mark.length || replaced.charCodeAt(mark.length) === 0x7c); // '|'
    if (!quiet) await this.announceLanding(redisKey);
  }

  /** Publishes `redisKey` on the landing channel (SPUBLISH when sharded). Never throws. */
  private announceLanding(redisKey: string): Promise<void> {
    const sent = this.shardedPubSub
      ? this.client.spublish(this.landingChannel, redisKey)
      : this.client.publish(this.landingChannel, redisKey);
    return sent.then(
      () => undefined,
      (error: unknown) => void this.connection.notePermission('cache', error),
    );
  }

  /**
   * Another instance holds the lease: wait until it announces the landing (at most `waitMs`), then
   * read the value from L2. A waiter that is not woken in time (the holder died, the notice was
   * lost) or finds no value loads it itself.
   */
  private async awaitLanding<T>(request: LoadRequest<T>, stale: CacheEntry | undefined): Promise<T> {
    const { namespace, redisKey, key } = request;
    const { waitMs } = namespace.distributedSingleFlight as { waitMs: number };
    const landed = (this.landing as LandingNotifier).wait(redisKey, waitMs);
    const generation = this.l1.now();
    // The value may have landed between our read and the wait; look once more before sleeping.
    let remote = await this.readL2(namespace, redisKey);
    if (remote.entry === undefined || remote.entry.freshUntil <= Date.now()) {
      await landed.promise;
      remote = await this.readL2(namespace, redisKey);
    } else {
      landed.cancel();
    }
    const now = Date.now();
    if (remote.entry !== undefined && remote.entry.freshUntil > now) {
      this.fillL1(namespace, redisKey, key, remote.entry, now, generation);
      namespace.metrics.hitL2.inc();
      request.span?.setAttribute(CACHE_HIT, 'l2');
      return remote.entry.value as T;
    }
    return this.loadAndStore(request, stale);
  }

  /** The loader failed or was too slow, and the stale value is the answer (said on the span). */
  private servedStale<T>(request: LoadRequest<T>, stale: CacheEntry): T {
    request.span?.setAttribute(CACHE_STALE, true);
    return stale.value as T;
  }

  /** Ends this instance's lease on the key without a value; never throws. */
  private releaseLease<T>(request: LoadRequest<T>): Promise<void> {
    const { namespace, redisKey } = request;
    // A script may not SPUBLISH to a channel another master owns: sharded, the end is announced here.
    const channel = this.shardedPubSub ? '' : this.landingChannel;
    return releaseLeaseScript.run(this.client, [redisKey], [this.instanceId, channel]).then(
      (ended) => (this.shardedPubSub && ended !== 1 ? this.announceLanding(redisKey) : undefined),
      (error: unknown) => {
        this.connection.notePermission('cache', error);
        namespace.metrics.error('lease');
      },
    );
  }

  /** Runs the loader under the soft and hard timeouts; returns STALE when the stale value should be served. */
  private async runLoader<T>(
    request: LoadRequest<T>,
    stale: CacheEntry | undefined,
  ): Promise<T | typeof STALE> {
    const { namespace, redisKey, key, loader, options } = request;
    const hardMs = options.loaderHardTimeoutMs ?? namespace.loaderHardTimeoutMs;
    const softMs = options.loaderSoftTimeoutMs ?? namespace.loaderSoftTimeoutMs;
    const controller = new AbortController();
    const started = performance.now();
    const loading = cacheTracer.enabled
      ? this.tracedLoader(namespace, loader, controller.signal)
      : (async () => loader(controller.signal))();
    const observe = (): void => namespace.metrics.loaderSeconds.observe((performance.now() - started) / 1000);
    loading.then(observe, observe);
    const timers: NodeJS.Timeout[] = [];
    const racers: Array<Promise<T | typeof STALE>> = [loading];
    if (hardMs !== undefined) {
      racers.push(
        new Promise<never>((_, reject) => {
          timers.push(
            setTimeout(() => {
              controller.abort();
              reject(new CacheLoaderTimeoutError(key, hardMs));
            }, hardMs),
          );
        }),
      );
    }
    if (softMs !== undefined && stale !== undefined) {
      racers.push(new Promise((resolve) => timers.push(setTimeout(() => resolve(STALE), softMs))));
    }
    try {
      const result = racers.length === 1 ? await loading : await Promise.race(racers);
      if (result === STALE) {
        namespace.metrics.staleServed.inc();
        // The loader goes on; when it lands, its value replaces the stale one.
        loading.then(
          (value) => this.store(namespace, redisKey, key, value, options),
          () => namespace.metrics.error('loader'),
        );
      }
      return result;
    } catch (error) {
      namespace.metrics.error('loader');
      if (stale !== undefined) {
        namespace.metrics.staleServed.inc();
        return STALE;
      }
      throw error instanceof CacheLoaderTimeoutError ? error : new CacheLoaderError(key, error);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /** The loader in a `cache load` span, a child of the `cache getOrSet` span that ran it. */
  private tracedLoader<T>(namespace: Namespace, loader: CacheLoader<T>, signal: AbortSignal): Promise<T> {
    return cacheTracer.trace('cache load', { attributes: { [CACHE_NAMESPACE]: namespace.name } }, async () =>
      loader(signal),
    );
  }

  private refreshInBackground<T>(request: LoadRequest<T>, stale: CacheEntry): void {
    const { redisKey } = request;
    if (this.refreshes.has(redisKey) || this.flights.has(redisKey)) return;
    this.refreshes.add(redisKey);
    // The caller was answered: its span is not the refresh's to annotate.
    const background = request.span === undefined ? request : { ...request, span: undefined };
    this.loadAndStore(background, stale)
      .catch(() => undefined)
      .finally(() => this.refreshes.delete(redisKey));
  }

  /** XFetch-style: refresh early with a probability that grows to 1 as expiry nears. */
  private shouldRefreshEarly(namespace: Namespace, local: LocalEntry, now: number): boolean {
    const window = namespace.ttlMs * namespace.earlyRefresh;
    const remaining = local.freshUntil - now;
    return remaining < window && Math.random() > remaining / window;
  }

  /** Stores in L1 and L2 and publishes the invalidation. Never throws for Redis trouble. */
  private async store(
    namespace: Namespace,
    redisKey: string,
    key: string,
    value: unknown,
    options: CacheSetOptions,
    writeL2 = true,
    lease?: HeldLease,
  ): Promise<'stored' | 'skipped' | 'too_large'> {
    if (value === undefined || (value === null && !namespace.cacheNull)) return 'skipped';
    const payload = this.serializer.serialize(value);
    const size = Buffer.byteLength(payload);
    if (size > this.options.maxValueBytes) {
      namespace.metrics.error('too_large');
      return 'too_large';
    }
    const baseTtl = options.ttlMs ?? namespace.ttlMs;
    const ttlMs = Math.max(1, Math.round(baseTtl * (1 - Math.random() * namespace.ttlJitter)));
    const graceMs = options.graceMs ?? namespace.graceMs;
    const now = Date.now();
    const freshUntil = now + ttlMs;
    const staleUntil = freshUntil + graceMs;
    if (namespace.l1) {
      const l1TtlMs = Math.min(options.l1TtlMs ?? namespace.l1TtlMs, ttlMs);
      const entry = { value, freshUntil, staleUntil, size, localUntil: now + l1TtlMs };
      // Recorded as a drop first: an L2 read already in flight must not replace this with an older value.
      this.l1.dropKeys([redisKey]);
      this.l1.set(redisKey, entry, now, namespace.l1Keys, key);
    }
    if (!writeL2) return 'stored';
    this.l2Reads.noteKey(redisKey);
    const started = performance.now();
    const encoded = encodeEntry(freshUntil, staleUntil, payload);
    const writes: Array<Promise<unknown>> = [
      lease === undefined
        ? this.client.set(redisKey, encoded, 'PX', ttlMs + graceMs)
        : this.client.set(redisKey, encoded, 'PX', ttlMs + graceMs, 'GET').then((replaced) => {
            lease.ended = true;
            return this.landed(redisKey, replaced);
          }),
    ];
    for (const tag of options.tags ?? []) {
      writes.push(
        addToTagScript.run(this.client, [this.tagKey(namespace, tag)], [redisKey, ttlMs + graceMs]),
      );
    }
    try {
      await Promise.all(writes);
    } catch (error) {
      this.connection.notePermission('cache', error);
      namespace.metrics.error('l2_set');
    } finally {
      namespace.metrics.l2Seconds('set').observe((performance.now() - started) / 1000);
    }
    this.l2Reads.noteKey(redisKey);
    await this.invalidate(namespace, redisKey);
    return 'stored';
  }

  /**
   * Reads L2 on the way to a load. A replica's miss, or an entry no longer fresh there, may only be
   * its lag (the value landed on the primary and is on its way): the primary is asked too before
   * the caller runs the loader on it.
   */
  private readonly decodeText = (text: string | null): DecodedText => ({
    text,
    entry: text === null ? undefined : decodeEntry(text, this.serializer),
  });

  private async readL2(namespace: Namespace, redisKey: string): Promise<L2Read> {
    const started = performance.now();
    try {
      const read = await this.l2Reads.readDecoded(redisKey, this.decodeText, isFresh);
      return read.text === null ? L2_MISS : { entry: read.entry, failed: false };
    } catch (error) {
      this.connection.notePermission('cache', error);
      namespace.metrics.error('l2_get');
      return L2_FAILED;
    } finally {
      namespace.metrics.l2Seconds('get').observe((performance.now() - started) / 1000);
    }
  }

  private fillL1(
    namespace: Namespace,
    redisKey: string,
    key: string,
    entry: LocalEntry,
    now: number,
    generation: number,
  ): void {
    if (!namespace.l1 || this.l1.changedSince(redisKey, generation)) return;
    // The entry was decoded for this read alone, so its deadline can be set on it as it is.
    entry.localUntil = Math.min(entry.freshUntil, now + namespace.l1TtlMs);
    this.l1.set(redisKey, entry, now, namespace.l1Keys, key);
  }

  /** UNLINK, one key per command on a Cluster (keys of a batch live in different slots). */
  private async unlink(namespace: Namespace, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const started = performance.now();
    try {
      if (this.client instanceof Cluster) await Promise.all(keys.map((key) => this.client.unlink(key)));
      else await this.client.unlink(...keys);
    } catch (error) {
      namespace.metrics.error('l2_delete');
      throw this.connection.notePermission('cache', error) ?? error;
    } finally {
      namespace.metrics.l2Seconds('delete').observe((performance.now() - started) / 1000);
    }
  }
}

/** An L2 read's text and the entry decoded from it (undefined when it is not one). */
interface DecodedText {
  text: string | null;
  entry: LocalEntry | undefined;
}

/** Whether a read found an entry still fresh now. */
function isFresh({ entry }: DecodedText): boolean {
  return entry !== undefined && entry.freshUntil > Date.now();
}
