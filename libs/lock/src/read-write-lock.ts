import { AsyncLocalStorage } from 'node:async_hooks';

import type { RedisClient, RedisKeyspace } from '@redkit/redis';

import { LeaseHandle, type LeaseOwner } from './lease-handle.js';
import { newToken } from './lease-token.js';
import { leaseEnd, leaseTimings, waitForLease } from './lease-wait.js';
import { runHolding } from './lock-extender.js';
import { LockNotAcquiredError, LockOptionsError, UpgradeNotSupportedError } from './lock.errors.js';
import { checkMilliseconds, type ResolvedLockOptions } from './lock-options.validator.js';
import {
  readAcquireScript,
  readWriteExtendScript,
  readWriteReleaseScript,
  writeAcquireScript,
  type ReadWriteMode,
} from './read-write-lock-scripts.js';
import { outcomeOf, type LeaseMetrics } from './lease.metrics.js';

/** Timings of one read-write lock; unset ones take the `LockModule`'s. */
export interface ReadWriteLockOptions {
  /** Lease of a grant unless extended. */
  ttlMs?: number;
  /** Longest an acquisition waits. */
  maxWaitMs?: number;
}

/** Options of one acquisition (and of `read` / `write`). */
export interface ReadWriteAcquireOptions {
  ttlMs?: number;
  maxWaitMs?: number;
  /** Aborting stops the wait at once with `LockNotAcquiredError` (reason `aborted`). */
  signal?: AbortSignal;
}

/** A read or write lease on a {@link ReadWriteLock} (see {@link LeaseHandle}). */
export class ReadWriteLease extends LeaseHandle {
  constructor(
    owner: LeaseOwner,
    resource: string,
    id: string,
    readonly mode: ReadWriteMode,
    fencingToken: number,
    expiresAt: number,
    ttlMs: number,
  ) {
    super(owner, resource, id, fencingToken, expiresAt, ttlMs);
  }

  /**
   * Always throws: a reader cannot become the writer, since the writer must wait for every reader,
   * itself included, which is a deadlock (Redisson's read lock "by design"). Release the read lease
   * and acquire the write lease, then read again what you decided on.
   */
  upgrade(): never {
    throw new UpgradeNotSupportedError(this.resource);
  }
}

/** @internal What a ReadWriteLock shares with the LockService that made it. */
export interface ReadWriteLockContext {
  client: RedisClient;
  keyspace: RedisKeyspace;
  defaults: ResolvedLockOptions;
  metrics: LeaseMetrics;
  /**
   * `error`, or the RedisPermissionError it stands for when Redis refused the ACL user, recorded on
   * the connection (logged once, reported by its health).
   */
  noteRefusal(error: unknown): unknown;
}

/** The read-write locks whose read lease the current async context holds through `read()`. */
const readsHeld = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Many readers or one writer, across every process. **Writer preference**: a writer that waits
 * keeps new readers out, so a continuous stream of readers delays it by one reader lease at most.
 * Every grant is a lease on the Redis server's clock with a fencing token (readers' and writers'
 * from one counter, strictly increasing). Not reentrant, and a reader asking to write gets
 * `UpgradeNotSupportedError` instead of waiting for itself forever. Made by
 * `LockService.readWriteLock(name, options)`.
 *
 * @example
 * const catalog = locks.readWriteLock('catalog');
 * const items = await catalog.read(() => loadCatalog());      // many at once
 * await catalog.write((signal, lease) => rebuildCatalog(lease.fencingToken)); // alone
 */
export class ReadWriteLock implements LeaseOwner {
  /** The lease and longest wait of a call that gives none. */
  private readonly timings: { ttlMs: number; maxWaitMs: number };
  private readonly keys: string[];
  /** Identifies this lock (server and name) in the async context of `read()`. */
  private readonly identity: string;

  constructor(
    /** The name, also the hash tag of its keys. */
    readonly name: string,
    options: ReadWriteLockOptions,
    private readonly context: ReadWriteLockContext,
  ) {
    if (typeof options !== 'object' || options === null) {
      throw new LockOptionsError('readWriteLock', 'options must be an object');
    }
    this.timings = leaseTimings(options, context.defaults);
    const base = context.keyspace.tagged(name);
    this.identity = base;
    this.keys = ['writer', 'readers', 'waiting', 'fence'].map((part) => `${base}:${part}`);
  }

  /** A read lease, waiting while a writer holds or waits. @throws LockNotAcquiredError */
  acquireRead(options: ReadWriteAcquireOptions = {}): Promise<ReadWriteLease> {
    return this.acquire('read', options);
  }

  /**
   * The write lease, waiting for the writer and every reader to finish (and holding new readers back
   * meanwhile). @throws UpgradeNotSupportedError inside this lock's own `read()`;
   * LockNotAcquiredError when it cannot be had in time.
   */
  acquireWrite(options: ReadWriteAcquireOptions = {}): Promise<ReadWriteLease> {
    if (readsHeld.getStore()?.has(this.identity))
      return Promise.reject(new UpgradeNotSupportedError(this.name));
    return this.acquire('write', options);
  }

  /** Runs `fn` holding a read lease (extended while it runs, released after). */
  async read<T>(
    fn: (signal: AbortSignal, lease: ReadWriteLease) => Promise<T> | T,
    options?: ReadWriteAcquireOptions,
  ): Promise<T> {
    const lease = await this.acquireRead(options);
    const held = new Set(readsHeld.getStore() ?? []).add(this.identity);
    return readsHeld.run(held, () =>
      runHolding(lease, this.context.defaults.extendAtFraction, () => this.context.metrics.lost.inc(), fn),
    );
  }

  /** Runs `fn` holding the write lease (extended while it runs, released after). */
  async write<T>(
    fn: (signal: AbortSignal, lease: ReadWriteLease) => Promise<T> | T,
    options?: ReadWriteAcquireOptions,
  ): Promise<T> {
    const lease = await this.acquireWrite(options);
    return runHolding(
      lease,
      this.context.defaults.extendAtFraction,
      () => this.context.metrics.lost.inc(),
      fn,
    );
  }

  /** @internal Used by {@link ReadWriteLease.release}. */
  async releaseLease(lease: LeaseHandle): Promise<boolean> {
    const { mode } = lease as ReadWriteLease;
    return (
      (await readWriteReleaseScript
        .run(this.context.client, this.keys, [lease.id, mode])
        .catch(this.refused)) === 1
    );
  }

  /** @internal Used by {@link ReadWriteLease.extend}. */
  async extendLease(lease: LeaseHandle, ttlMs: number): Promise<boolean> {
    checkMilliseconds('ttlMs', ttlMs);
    const { mode } = lease as ReadWriteLease;
    const sentAt = Date.now();
    const extended =
      (await readWriteExtendScript
        .run(this.context.client, this.keys, [lease.id, mode, ttlMs])
        .catch(this.refused)) === 1;
    if (extended) {
      lease.expiresAt = Math.max(lease.expiresAt, leaseEnd(sentAt, ttlMs, this.context.defaults.driftFactor));
      lease.watch();
    }
    return extended;
  }

  /** Rethrows `error`, recorded on the connection when Redis refused the ACL user. */
  private readonly refused = (error: unknown): never => {
    throw this.context.noteRefusal(error);
  };

  private async acquire(mode: ReadWriteMode, options: ReadWriteAcquireOptions): Promise<ReadWriteLease> {
    const { ttlMs, maxWaitMs } = leaseTimings(options, this.timings);
    const { client, defaults, metrics } = this.context;
    const startedAt = performance.now();
    const id = newToken();
    // A waiting writer's entry outlives its longest sleep, so a live writer never stops counting.
    const waitingMs = 2 * (defaults.maxRetryDelayMs + defaults.jitterMs) + 1_000;
    const outcome = await waitForLease({
      attempt: () =>
        (mode === 'read'
          ? readAcquireScript.run(client, this.keys, [id, ttlMs])
          : writeAcquireScript.run(client, this.keys, [id, ttlMs, waitingMs])
        ).catch(this.refused),
      maxWaitMs,
      timing: defaults,
      signal: options.signal,
    });
    metrics.waitSeconds.observe((performance.now() - startedAt) / 1_000);
    if (outcome.granted) {
      metrics.acquire.acquired.inc();
      const expiresAt = leaseEnd(outcome.sentAt, ttlMs, this.context.defaults.driftFactor);
      return new ReadWriteLease(this, this.name, id, mode, outcome.fencingToken, expiresAt, ttlMs);
    }
    // A writer stops holding readers back; a grant that landed after the last attempt is returned.
    await readWriteReleaseScript.run(client, this.keys, [id, mode]).catch(() => 0);
    const { reason } = outcome;
    metrics.acquire[outcomeOf(reason)].inc();
    throw new LockNotAcquiredError(
      this.name,
      outcome.attempts,
      reason,
      outcome.cause === undefined ? undefined : { cause: outcome.cause },
    );
  }
}
