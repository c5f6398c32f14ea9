import type { DurabilityOptions } from '@redkit/redis';

/**
 * Defaults of every acquisition, set once in `LockModule.forRoot` (or the `LockService`
 * constructor); each call may override the per-call ones.
 */
export interface LockModuleOptions {
  /** Lifetime of a lock unless extended. Default 10 000. */
  ttlMs?: number;
  /** Retries after the first attempt before giving up. Default Infinity (bounded by `maxWaitMs`). */
  retries?: number;
  /** First fallback retry delay while waiting; doubles per retry up to `maxRetryDelayMs`. Default 100. */
  retryDelayMs?: number;
  /** Ceiling of the fallback retry delay. Default 1 000. */
  maxRetryDelayMs?: number;
  /** Random 0..jitterMs added to every retry delay. Default 50. */
  jitterMs?: number;
  /** Longest an `acquire` waits in all. Default 10 000. */
  maxWaitMs?: number;
  /**
   * Clock drift allowance, as a fraction of the TTL (plus 2 ms): a lock is considered valid until
   * `start + ttl - ttl * driftFactor - 2`. Default 0.01.
   */
  driftFactor?: number;
  /**
   * `using` extends the lock once this fraction of its validity has passed. Default 0.5 (a 10 s
   * lock is extended every 5 s).
   */
  extendAtFraction?: number;
  /**
   * Single-server mode: waiters are told on a pub/sub channel when the lock is handed to them
   * (one subscriber connection per `LockService`). Off: they find out on their retry timer. Default true.
   */
  notifications?: boolean;
  /**
   * While this process holds a lock, its own later callers for the resource queue in-process and a
   * release hands the lock straight to the next of them (same lease, next fencing token of a block
   * reserved in Redis), with no round trip. A batch renews the lease and reserves more tokens in the
   * background (single-server mode), asking Redis at least every 10 ms whether another process
   * waits, and ends as soon as one does. Order: arrival order within a process, batch by batch
   * across processes. Off: every acquisition goes through the Redis queue, strictly in arrival
   * order, one round trip per hand-over. Default true.
   */
  localHandoff?: boolean;
  /**
   * Coalesce the first attempts and the releases of one event-loop turn into one script call each
   * (per standalone server; never on a Cluster). Default true. Each lock is decided exactly as alone.
   */
  coalesce?: boolean;
  /**
   * Durable mode, for where losing a lock in a failover is worse than waiting: every write that
   * grants or keeps a lease (acquisitions, in-process renewals, extensions, semaphore grants) and
   * every `FencedStore` write is followed by `WAIT replicas timeoutMs` on its connection, and counts
   * only once `replicas` replicas acknowledged it. An acquisition they do not acknowledge in time is
   * released and rejects with `LockDurabilityError`; so does a fenced write (which may still stand on
   * the primary). Single-server mode only (one server with replicas, or a Cluster). WAIT blocks the
   * connection while it waits: give the lock a connection of its own. Default off.
   */
  durability?: DurabilityOptions;
}

/** Module-level settings, given beside the options (or beside `useFactory`). */
export interface LockModuleExtras {
  /** Register `LockService` globally. Default true. */
  isGlobal: boolean;
  /** The RedisModule connection to lock on (its `name`). Default `default`. */
  connection: string;
  /**
   * Redlock mode: names of independent RedisModule connections (3 or 5 usually) to lock across with a
   * quorum of ⌊N/2⌋+1. Overrides `connection` when given.
   */
  connections?: string[];
}

/** Options of one `acquire` (and of `using` and `@WithLock`); unset ones take the module's. */
export interface AcquireOptions {
  ttlMs?: number;
  retries?: number;
  retryDelayMs?: number;
  jitterMs?: number;
  maxWaitMs?: number;
  /** Aborting stops the wait at once with `LockNotAcquiredError` (reason `aborted`). */
  signal?: AbortSignal;
}

/** Options of one `tryAcquire`: a single attempt, never queued. */
export interface TryAcquireOptions {
  ttlMs?: number;
}
