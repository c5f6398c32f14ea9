import type { CacheSerializer } from './cache-serializer.interface.js';

/** Behaviour of one namespace (a named cache). Every duration is in milliseconds. */
export interface CacheNamespaceOptions {
  /** How long an entry is fresh, in L1 and L2. Default 60000. */
  ttlMs?: number;
  /** How long L1 keeps an entry fresh; never longer than `ttlMs`. Default `ttlMs`. */
  l1TtlMs?: number;
  /** How long after `ttlMs` an entry may still be served stale while it is refreshed. Default 0. */
  graceMs?: number;
  /** Fraction of the TTL taken off at random per write, against synchronized expiry. Default 0.1. */
  ttlJitter?: number;
  /** With a stale value at hand, serve it when the loader takes longer; the loader goes on. */
  loaderSoftTimeoutMs?: number;
  /** Give up on the loader after this long (serve stale if there is one, else fail). */
  loaderHardTimeoutMs?: number;
  /** Cache `null` results (negative caching). `undefined` is never cached. Default false. */
  cacheNull?: boolean;
  /**
   * Run the loader once across instances: a short Redis lease; other instances wait to be woken
   * over pub/sub when the value lands (at most `waitMs`), then run the loader themselves.
   */
  distributedSingleFlight?: boolean | { leaseMs?: number; waitMs?: number };
  /**
   * Probabilistic early refresh of hot keys: in the last `earlyRefresh` fraction of the TTL, a hit
   * refreshes in the background with a probability growing to 1 at expiry. Default 0 (off).
   */
  earlyRefresh?: number;
  /** Keep entries of this namespace in L1. Default true. */
  l1?: boolean;
}

/** How other instances learn that an entry changed, so they drop their L1 copy. */
export type CacheInvalidationMode = 'pubsub' | 'tracking' | 'none';

/** Options of `CacheModule.forRoot`; the namespace options here are the default namespace's. */
export interface CacheModuleOptions extends CacheNamespaceOptions {
  /** Named caches with their own defaults; each inherits the options above. */
  namespaces?: Record<string, CacheNamespaceOptions>;
  /** L1 bounds, shared by all namespaces. Defaults 10000 entries and 64 MiB. */
  l1MaxEntries?: number;
  l1MaxBytes?: number;
  /** Largest value, serialized, that may be cached. Default 1 MiB. */
  maxValueBytes?: number;
  serializer?: CacheSerializer;
  /** `pubsub` (default), `tracking` (Redis client-side caching: any writer invalidates), `none`. */
  invalidation?: CacheInvalidationMode;
  /**
   * On a Cluster, invalidations and landing notices use sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis
   * 7) on the cache's shard channels, so each reaches only the master owning its channel instead of
   * every node. `false` keeps classic PUBLISH / SUBSCRIBE (Redis < 7, or a fleet not yet upgraded).
   * Every instance must agree. Ignored off a Cluster. Default true.
   */
  shardedPubSub?: boolean;
  /**
   * HTTP routes send an L1 hit of an object or array as JSON text made once per L1 entry (and kept
   * with it, counted against `l1MaxBytes`), instead of the adapter serializing the value for every
   * response. The bytes are the same as `JSON.stringify` of the value. A route keeps the value path
   * when an app-wide or controller interceptor could transform the body, or it sets its own
   * Content-Type. Leave off when the adapter serializes differently: a Fastify reply serializer or
   * response schema, Express's `json spaces`/`json replacer`. Default false.
   */
  preserializedHits?: boolean;
  /**
   * Where plain L2 reads go (`get`, `getOrSet`'s read, the re-read after a landing). `primary`
   * (default). `replica`: a replica of the connection (Sentinel: one the Sentinels name healthy;
   * Cluster: each slot's replica), so reads may be as old as the replica's replication lag, except
   * for keys written or invalidated less than `readYourWritesMs` ago, which are read from the
   * primary. A replica that is down or failing is skipped for the primary, never for the loader.
   * `getOrSet` asks the primary again before running its loader on a replica's miss. Writes and the
   * distributed single-flight lease always go to the primary. Needs a Sentinel or Cluster connection.
   */
  l2Reads?: CacheL2Reads;
  /**
   * With `l2Reads: 'replica'`: for this long after a key was written or dropped (by this instance,
   * or by another one whose invalidation reached this one), its reads go to the primary, so an
   * instance reads its own writes and a replica's older copy is not read back into L1. Set it above
   * the replication lag you expect. Default 1000.
   */
  readYourWritesMs?: number;
}

/** Where the cache's plain L2 reads go; see `CacheModuleOptions.l2Reads`. */
export type CacheL2Reads = 'primary' | 'replica';

/** Module-level settings (Nest "extras"), given beside the options or beside `useFactory`. */
export interface CacheModuleExtras {
  /** Register `CacheService` globally. Default true. */
  isGlobal: boolean;
  /** The RedisModule connection to use (its `name`). Default `default`. */
  connection: string;
}

/** Per-call options of writes and `getOrSet`. */
export interface CacheSetOptions {
  namespace?: string;
  ttlMs?: number;
  l1TtlMs?: number;
  graceMs?: number;
  tags?: readonly string[];
}

export interface CacheGetOrSetOptions extends CacheSetOptions {
  loaderSoftTimeoutMs?: number;
  loaderHardTimeoutMs?: number;
  /**
   * Whether a freshly loaded value is stored. A value it refuses is still returned to every caller
   * of the flight, just not cached (what `@Cacheable({ unless })` builds on). Default: store all.
   */
  shouldStore?: (value: unknown) => boolean;
}

/** Loads a value on a miss; `signal` aborts when the hard timeout passes. */
export type CacheLoader<T> = (signal: AbortSignal) => Promise<T> | T;
