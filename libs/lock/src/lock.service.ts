import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { MetricsService } from '@redkit/metrics';
import {
  REDIS_DEFAULTS,
  runScriptDurably,
  type DurableReply,
  type RedisClient,
  type RedisConnection,
  type RedisKeyspace,
  type ResolvedDurability,
  type SpanAttributes,
} from '@redkit/redis';

import { Lock, type LockOwner } from './lock.js';
import { Cohort, LocalWaiter } from './lock-cohort.js';
import { FirstTake, unavailable, type Attempt, type FirstTakeOwner } from './first-take.js';
import {
  LockDurabilityError,
  LockNotAcquiredError,
  LockOptionsError,
  type LockNotAcquiredReason,
} from './lock.errors.js';
import { LockBatcher } from './lock.batcher.js';
import { runHolding } from './lock-extender.js';
import { GrantWaiter } from './grant-waiter.js';
import { newToken } from './lease-token.js';
import { LockGrantNotifier } from './lock-grant.notifier.js';
import { createLockMetrics, type LockMetrics } from './lock.metrics.js';
import { LockDurability } from './lock-durability.js';
import { endHold, LOCK_LOST, lockSpanAttributes, lockTracer, traceAcquire } from './lock.tracing.js';
import { Semaphore, type SemaphoreOptions } from './semaphore.js';
import { createLeaseMetrics, type LeaseMetrics } from './lease.metrics.js';
import { ReadWriteLock, type ReadWriteLockOptions } from './read-write-lock.js';
import { LeaderElector, type LeaderElectionOptions } from './leader-elector.js';
import { createLeaderMetrics, type LeaderMetrics } from './leader.metrics.js';
import type { AcquireOptions, LockModuleOptions, TryAcquireOptions } from './lock-options.interface.js';
import {
  checkMilliseconds,
  resolveAcquireOptions,
  resolveLockOptions,
  type ResolvedAcquireOptions,
  type ResolvedLockOptions,
} from './lock-options.validator.js';
import {
  FENCE_BLOCK,
  RENEW_BLOCK,
  acquireScript,
  extendScript,
  raiseFenceScript,
  releaseScript,
  releaseUncontendedScript,
  renewScript,
  takeScript,
} from './lock-scripts.js';

/** One Redis server (or Cluster) locks are taken on. */
interface LockServer {
  readonly client: RedisClient;
  readonly keyspace: RedisKeyspace;
  readonly connection: RedisConnection;
}

/** Everything a callback given to {@link LockService.using} receives. */
export type LockedFunction<T> = (signal: AbortSignal, lock: Lock) => Promise<T> | T;

/** Longest an in-process batch goes without asking Redis whether another process waits. */
const BATCH_CHECK_MS = 10;

/** While a renewal is in flight, one hand-over in this many waits for the next loop turn. */
const YIELD_EVERY = 32;

/**
 * Distributed locks on Redis with fencing tokens: on one server (or Cluster), or in Redlock mode
 * over N independent servers with a quorum of ⌊N/2⌋+1.
 *
 * What it guarantees: a lock is held by one token at a time (`SET NX PX`); only the holder's token
 * can release or extend it (compare-and-delete, compare-and-pexpire in Lua); every acquisition gets
 * a fencing token strictly greater than all before it for that resource. Waiters queue in arrival
 * order and a release hands the lock straight to the oldest live one (single-server mode), who is
 * told on pub/sub; timers are only the fallback.
 *
 * What it does not: a lock is a lease. A holder that stalls past `expiresAt` can still act after
 * someone else got the lock; use the fencing token where the protected write lands, or `using`,
 * whose signal aborts when the lease is lost.
 *
 * @example
 * await locks.using(`order:${id}`, async (signal, lock) => {
 *   await orders.settle(id, { fence: lock.fencingToken, signal });
 * });
 */
export class LockService implements LockOwner, FirstTakeOwner, OnModuleInit, OnApplicationShutdown {
  /** `single` (one server or Cluster) or `redlock` (a quorum of independent servers). */
  readonly mode: 'single' | 'redlock';
  /** Servers that must agree: 1, or ⌊N/2⌋+1 in Redlock mode. */
  readonly quorum: number;
  /**
   * Durable mode's WAIT (the `durability` option, checked), or undefined when it is off. Pass it to
   * `FencedScript.runDurably` for writes of your own under the same guarantee.
   */
  readonly durability: ResolvedDurability | undefined;
  private readonly servers: readonly LockServer[];
  private readonly client: RedisClient;
  private readonly keyspace: RedisKeyspace;
  private readonly semaphoreKeyspace: RedisKeyspace;
  private readonly readWriteKeyspace: RedisKeyspace;
  private readonly leaderKeyspace: RedisKeyspace;
  private readonly options: ResolvedLockOptions;
  private readonly metrics: LockMetrics;
  /** Durable mode's counting and errors; undefined when it is off. */
  private readonly durable?: LockDurability;
  /** Wait and hold times are measured (an app with metrics); without, no clock is read for them. */
  private readonly timed: boolean;
  private readonly metricsService?: MetricsService;
  /** Registered on the first semaphore, or read-write lock, only. */
  private semaphoreMetrics?: LeaseMetrics;
  private readWriteMetrics?: LeaseMetrics;
  private leaderMetrics?: LeaderMetrics;
  private readonly notifier?: LockGrantNotifier;
  private readonly channel: string;
  /** In-process hand-over state by resource; undefined when `localHandoff` is off or in Redlock mode. */
  private readonly cohorts?: Map<string, Cohort>;
  /** Per server: coalesces the takes and releases of one loop turn (standalone servers only). */
  private readonly batchers: readonly (LockBatcher | undefined)[];
  /** The servers' span attributes, made on the first traced acquisition. */
  private spanAttributes?: SpanAttributes;

  constructor(
    connections: RedisConnection | readonly RedisConnection[],
    options: LockModuleOptions = {},
    metrics?: MetricsService,
  ) {
    const list = Array.isArray(connections) ? connections : [connections as RedisConnection];
    if (list.length === 0) throw new LockOptionsError('connections', 'must name at least one connection');
    // (A stand-in connection without options only serves option checks that fail before it is used.)
    this.options = resolveLockOptions(
      options,
      Math.min(...list.map((each) => each.options?.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs)),
    );
    this.durability = this.options.durability;
    if (this.durability !== undefined && list.length > 1) {
      throw new LockOptionsError(
        'durability',
        'is for single-server mode (one server with replicas, or a Cluster): a Redlock quorum already outlives ⌊(N-1)/2⌋ failed servers',
      );
    }
    this.servers = list.map((connection) => ({
      client: connection.client,
      keyspace: connection.keyspace('lock'),
      connection,
    }));
    const first = this.servers[0] as LockServer;
    this.client = first.client;
    this.keyspace = first.keyspace;
    this.semaphoreKeyspace = list[0]!.keyspace('semaphore');
    this.readWriteKeyspace = list[0]!.keyspace('rwlock');
    this.leaderKeyspace = list[0]!.keyspace('leader');
    this.mode = list.length === 1 ? 'single' : 'redlock';
    this.quorum = Math.floor(list.length / 2) + 1;
    this.metrics = createLockMetrics(metrics);
    if (this.durability !== undefined)
      this.durable = new LockDurability(this.durability, metrics, this.noteRefusal);
    this.timed = metrics !== undefined;
    this.metricsService = metrics;
    if (this.mode === 'single' && this.options.notifications) {
      this.notifier = new LockGrantNotifier(this.client, (list[0] as RedisConnection).options.keyPrefix);
    }
    this.channel = this.notifier?.channel ?? '';
    if (this.options.localHandoff) this.cohorts = new Map();
    this.batchers = this.servers.map(({ client, connection }) =>
      client.isCluster || !this.options.coalesce
        ? undefined
        : new LockBatcher(
            client,
            (error) => connection.notePermission('lock', error) ?? error,
            this.durability,
          ),
    );
  }

  /**
   * A counting semaphore named `name` (see {@link Semaphore}), on this service's connection (the first
   * server's in Redlock mode) and, in fair mode, its grant subscriber. Objects are cheap and
   * stateless between calls: one may serve every caller, or each may make its own with the same
   * name and options. Throws LockOptionsError naming a bad option.
   */
  semaphore(name: string, options: SemaphoreOptions): Semaphore {
    this.semaphoreMetrics ??= createLeaseMetrics(this.metricsService, 'semaphore');
    return new Semaphore(name, options, {
      client: this.client,
      keyspace: this.semaphoreKeyspace,
      notifier: this.notifier,
      defaults: this.options,
      metrics: this.semaphoreMetrics,
      noteRefusal: this.noteRefusal,
      durable: this.durable,
    });
  }

  /**
   * A read-write lock named `name` (see {@link ReadWriteLock}): many readers or one writer, writer
   * preference, on this service's connection (the first server's in Redlock mode). Throws
   * LockOptionsError naming a bad option.
   */
  readWriteLock(name: string, options: ReadWriteLockOptions = {}): ReadWriteLock {
    this.readWriteMetrics ??= createLeaseMetrics(this.metricsService, 'rwlock');
    return new ReadWriteLock(name, options, {
      client: this.client,
      keyspace: this.readWriteKeyspace,
      defaults: this.options,
      metrics: this.readWriteMetrics,
      noteRefusal: this.noteRefusal,
    });
  }

  /**
   * A leader election named `name` (see {@link LeaderElector}) on this service's connection (the
   * first server's in Redlock mode); call `start()` to join it and `stop()` to leave it. Throws
   * LockOptionsError naming a bad option (the timings must satisfy leaseMs > renewDeadlineMs >
   * 1.2 × retryPeriodMs).
   */
  election(name: string, options: LeaderElectionOptions = {}): LeaderElector {
    this.leaderMetrics ??= createLeaderMetrics(this.metricsService);
    return new LeaderElector(name, options, {
      client: this.client,
      keyspace: this.leaderKeyspace,
      metrics: this.leaderMetrics,
      noteRefusal: this.noteRefusal,
    });
  }

  /** Starts the grant subscriber (bounded; waiters fall back to timers while it is not listening). */
  async onModuleInit(): Promise<void> {
    await this.notifier?.start();
  }

  /** Closes the grant subscriber. Held locks are left to expire (or to their `using` to release). */
  async onApplicationShutdown(): Promise<void> {
    await this.notifier?.stop();
  }

  /**
   * One attempt, never queued: the lock, or `null` when someone else holds it (or waiters are queued
   * for it). Rejects with `LockNotAcquiredError` (reason `unavailable`) when Redis cannot be reached.
   */
  tryAcquire(resource: string, options?: TryAcquireOptions): Promise<Lock | null> {
    if (lockTracer.enabled)
      return traceAcquire(this.serverSpanAttributes(), 'tryAcquire', resource, () =>
        this.tryAcquireLock(resource, options),
      );
    return this.tryAcquireLock(resource, options);
  }

  private async tryAcquireLock(resource: string, options?: TryAcquireOptions): Promise<Lock | null> {
    const ttlMs =
      options?.ttlMs === undefined ? this.options.ttlMs : checkMilliseconds('ttlMs', options.ttlMs);
    const keys = this.keysOf(resource);
    const token = newToken();
    const attempt = await this.attempt(resource, keys, token, ttlMs, 0, false);
    if (attempt.fence > 0) {
      this.metrics.acquire.acquired.inc();
      const lock = new Lock(
        this,
        resource,
        attempt.fence - FENCE_BLOCK + 1,
        attempt.expiresAt,
        ttlMs,
        token,
        keys,
      );
      lock.uncontended = true;
      if (this.timed) lock.acquiredAt = performance.now();
      return lock;
    }
    if (attempt.unreplicated !== undefined) {
      this.metrics.acquire.error.inc();
      throw attempt.unreplicated;
    }
    if (attempt.unavailable) {
      this.metrics.acquire.error.inc();
      throw new LockNotAcquiredError(resource, 1, 'unavailable', { cause: attempt.error });
    }
    this.metrics.acquire.not_acquired.inc();
    return null;
  }

  /**
   * Acquires the lock, waiting for it: in arrival order, woken the moment a release hands it over
   * (single-server mode), with retries on a backing-off, jittered timer as the fallback.
   *
   * @throws LockNotAcquiredError when `maxWaitMs` passes, the retries run out, `signal` aborts, or
   * Redis (a quorum) cannot be reached until then. Errors carry the attempts made.
   */
  acquire(resource: string, options?: AcquireOptions): Promise<Lock> {
    if (lockTracer.enabled)
      return traceAcquire(this.serverSpanAttributes(), 'acquire', resource, () =>
        this.acquireLock(resource, options),
      );
    return this.acquireLock(resource, options);
  }

  private serverSpanAttributes(): SpanAttributes {
    this.spanAttributes ??= lockSpanAttributes(this.servers.map((server) => server.connection));
    return this.spanAttributes;
  }

  private acquireLock(resource: string, options: AcquireOptions | undefined): Promise<Lock> {
    // Not async: on the uncontended path every promise layer counts.
    try {
      const call = options === undefined ? this.options : resolveAcquireOptions(this.options, options);
      const signal = options?.signal;
      const startedAt = this.timed ? performance.now() : 0;
      if (signal?.aborted) this.notAcquired(resource, 0, 'aborted', startedAt, signal.reason);
      const { cohorts } = this;
      if (cohorts === undefined) return this.acquireFromRedis(resource, call, signal, startedAt, Date.now());
      const cohort = cohorts.get(resource);
      if (cohort !== undefined) return this.queueLocally(cohort, resource, call, signal, startedAt);
      const created = new Cohort();
      cohorts.set(resource, created);
      return this.acquireFromRedis(resource, call, signal, startedAt, Date.now(), created);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A cohort's leader got the lock from Redis: it holds it for the cohort now. */
  private becomeHolder(cohort: Cohort, lock: Lock): Lock {
    cohort.holder = lock;
    cohort.lastToken = lock.fencingToken + FENCE_BLOCK - 1;
    cohort.renewedAt = Date.now();
    if (cohort.queue.length > 0) this.watchHolder(cohort);
    return lock;
  }

  /** No holder in the cohort: its first local waiter goes to Redis on its own behalf, or the cohort ends. */
  private nextLeader(cohort: Cohort, resource: string): void {
    clearTimeout(cohort.expiryTimer);
    const next = cohort.queue.shift();
    if (next === undefined) {
      clearTimeout(cohort.deadlineTimer);
      cohort.deadlineTimer = undefined;
      cohort.deadlineAt = undefined;
      if (this.cohorts?.get(resource) === cohort) this.cohorts.delete(resource);
      return;
    }
    next.detach();
    const call = { ...next.call, maxWaitMs: Math.max(0, next.deadline - Date.now()) };
    this.acquireFromRedis(resource, call, next.signal, next.startedAt, Date.now(), cohort).then(
      next.resolve,
      next.reject,
    );
  }

  /** Waits behind this process's holder (or leader) of the resource. */
  private queueLocally(
    cohort: Cohort,
    resource: string,
    call: ResolvedAcquireOptions,
    signal: AbortSignal | undefined,
    startedAt: number,
  ): Promise<Lock> {
    const waiter = new LocalWaiter(call, signal, startedAt, Date.now() + call.maxWaitMs);
    cohort.queue.push(waiter);
    if (cohort.deadlineAt === undefined || waiter.deadline < cohort.deadlineAt) {
      this.scheduleDeadlines(cohort, resource, waiter.deadline);
    }
    if (signal !== undefined) {
      waiter.onAbort = () => this.dropLocalWaiter(cohort, resource, waiter, 'aborted');
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    if (cohort.holder !== undefined && cohort.expiryTimer === undefined) this.watchHolder(cohort);
    return waiter.promise;
  }

  /** Rejects a local waiter that timed out or was aborted, if it is still queued. */
  private dropLocalWaiter(
    cohort: Cohort,
    resource: string,
    waiter: LocalWaiter,
    reason: 'timeout' | 'aborted',
  ): void {
    const index = cohort.queue.indexOf(waiter);
    if (index < 0) return;
    cohort.queue.splice(index, 1);
    waiter.detach();
    try {
      this.notAcquired(
        resource,
        0,
        reason,
        waiter.startedAt,
        reason === 'aborted' ? waiter.signal?.reason : undefined,
      );
    } catch (error) {
      waiter.reject(error);
    }
  }

  /** Arms the cohort's one deadline timer for `at`; when it fires, expired waiters are dropped. */
  private scheduleDeadlines(cohort: Cohort, resource: string, at: number): void {
    clearTimeout(cohort.deadlineTimer);
    cohort.deadlineAt = at;
    cohort.deadlineTimer = setTimeout(
      () => {
        cohort.deadlineTimer = undefined;
        cohort.deadlineAt = undefined;
        const now = Date.now();
        let earliest = Infinity;
        for (const waiter of [...cohort.queue]) {
          if (waiter.deadline <= now) this.dropLocalWaiter(cohort, resource, waiter, 'timeout');
          else earliest = Math.min(earliest, waiter.deadline);
        }
        if (earliest !== Infinity) this.scheduleDeadlines(cohort, resource, earliest);
      },
      Math.max(0, at - Date.now()),
    );
    cohort.deadlineTimer.unref();
  }

  /** Moves the queue on if the holder's lease runs out without a release (it crashed, it forgot). */
  private watchHolder(cohort: Cohort): void {
    clearTimeout(cohort.expiryTimer);
    cohort.expiryTimer = undefined;
    const holder = cohort.holder;
    if (holder === undefined) return;
    cohort.expiryTimer = setTimeout(
      () => {
        cohort.expiryTimer = undefined;
        // Hand-overs pass the lease on: look at whoever holds it now.
        const current = cohort.holder;
        if (current === undefined) return;
        if (current.expiresAt > Date.now()) return this.watchHolder(cohort);
        cohort.holder = undefined;
        this.nextLeader(cohort, current.resource);
      },
      Math.max(0, holder.expiresAt - Date.now()) + 1,
    );
    cohort.expiryTimer.unref();
  }

  /**
   * {@link acquire} through Redis: one attempt, then the wait loop. A cohort's leader: holding, it
   * becomes the cohort's holder; failing, the next local waiter tries.
   */
  private acquireFromRedis(
    resource: string,
    call: ResolvedAcquireOptions,
    signal: AbortSignal | undefined,
    startedAt: number,
    sentAt: number,
    cohort?: Cohort,
  ): Promise<Lock> {
    let take: FirstTake;
    try {
      const keys = this.keysOf(resource);
      const token = newToken();
      if (this.mode !== 'single')
        return this.acquireByQuorum(resource, keys, token, call, signal, startedAt, sentAt, cohort);
      take = new FirstTake(this, resource, keys, token, call, signal, startedAt, sentAt, cohort);
    } catch (error) {
      if (cohort !== undefined) this.nextLeader(cohort, resource);
      throw error;
    }
    // The common case, a free lock: one two-key script call, in this turn's batch when batching. A
    // caller that finds it taken joins the wait queue with the full script right after.
    // Durable mode: the batch script (or the take script) and WAIT, see LockBatcher.
    const batcher = this.batchers[0];
    if (batcher !== undefined) batcher.take(take);
    else if (this.durability !== undefined) {
      runScriptDurably(
        takeScript,
        this.client,
        [take.owner, take.fence],
        [take.token, take.ttlMs],
        this.durability,
      ).then(
        (waited) => take.settle(waited.reply, waited),
        (error: unknown) => take.fail(error),
      );
    } else {
      takeScript.run(this.client, [take.owner, take.fence], [take.token, take.ttlMs]).then(
        (reply) => take.settle(reply),
        (error: unknown) => take.fail(error),
      );
    }
    return take.promise;
  }

  /** @internal Used by {@link FirstTake}: counts a grant's WAIT outcome; true when acknowledged. */
  acknowledgedGrant(waited: DurableReply<unknown>): boolean {
    return this.durable!.acknowledged('acquire', waited);
  }

  /** @internal Used by {@link FirstTake}: granted, but too few replicas acknowledged it in time. */
  unreplicatedTake(take: FirstTake, result: DurableReply<unknown>): Promise<never> {
    const error = this.durable!.unreplicated(take.resource, 'acquire', result);
    // This process's callers queued behind the take would each wait for the replicas in turn: they
    // fail with it rather than one timeoutMs after another.
    if (take.cohort !== undefined) this.failCohort(take.cohort, take.resource, error);
    return this.undoGrant(take.keys, take.token, take.startedAt, error);
  }

  /** Releases a grant the replicas did not acknowledge (best effort), then rejects with `error`. */
  private async undoGrant(
    keys: string[][],
    token: string,
    startedAt: number,
    error: LockDurabilityError,
  ): Promise<never> {
    await releaseScript.run(this.client, keys[0] as string[], [token]).catch(() => 0);
    return this.failUnreplicated(error, startedAt);
  }

  /** Counts an acquisition that failed for durability, and throws its error. */
  private failUnreplicated(error: LockDurabilityError, startedAt: number): never {
    this.metrics.acquire.error.inc();
    if (this.timed) this.metrics.waitSeconds.observe((performance.now() - startedAt) / 1_000);
    throw error;
  }

  /** Rejects every caller of this process queued behind `cohort`'s leader with `error`; the cohort ends. */
  private failCohort(cohort: Cohort, resource: string, error: LockDurabilityError): void {
    const waiters = cohort.queue;
    cohort.queue = [];
    cohort.holder = undefined;
    clearTimeout(cohort.expiryTimer);
    clearTimeout(cohort.deadlineTimer);
    cohort.expiryTimer = undefined;
    cohort.deadlineTimer = undefined;
    cohort.deadlineAt = undefined;
    if (this.cohorts?.get(resource) === cohort) this.cohorts.delete(resource);
    for (const waiter of waiters) {
      waiter.detach();
      this.metrics.acquire.error.inc();
      waiter.reject(error);
    }
  }

  /** @internal Used by {@link FirstTake}: its take script granted the lock. */
  tookLock(take: FirstTake, fence: number): Lock {
    const { ttlMs, cohort } = take;
    try {
      const lock = this.acquired(
        take.resource,
        fence,
        take.sentAt + ttlMs - this.drift(ttlMs),
        ttlMs,
        take.token,
        take.keys,
        take.startedAt,
      );
      lock.uncontended = true;
      return cohort === undefined ? lock : this.becomeHolder(cohort, lock);
    } catch (error) {
      // (A metrics hook that throws.) The cohort's next local waiter must not wait on a holder that never was.
      if (cohort !== undefined) this.nextLeader(cohort, take.resource);
      throw error;
    }
  }

  /** @internal Used by {@link FirstTake}: the lock was taken (or the take failed); wait for it. */
  waitAfterFirstTake(take: FirstTake, first: Attempt): Promise<Lock> {
    const { resource, cohort } = take;
    const waiting = this.wait(
      resource,
      take.keys,
      take.token,
      take.call,
      take.signal,
      take.startedAt,
      take.sentAt,
      first,
    );
    if (cohort === undefined) return waiting;
    return waiting.then(
      (lock) => this.becomeHolder(cohort, lock),
      (error: unknown) => {
        if (error instanceof LockDurabilityError) this.failCohort(cohort, resource, error);
        else this.nextLeader(cohort, resource);
        throw error;
      },
    );
  }

  /** {@link acquireFromRedis} in Redlock mode: a quorum round, then the wait loop. */
  private async acquireByQuorum(
    resource: string,
    keys: string[][],
    token: string,
    call: ResolvedAcquireOptions,
    signal: AbortSignal | undefined,
    startedAt: number,
    sentAt: number,
    cohort: Cohort | undefined,
  ): Promise<Lock> {
    try {
      const { ttlMs } = call;
      const first = await this.attemptQuorum(keys, token, ttlMs, sentAt);
      const lock =
        first.fence > 0
          ? this.acquired(resource, first.fence, first.expiresAt, ttlMs, token, keys, startedAt)
          : await this.wait(resource, keys, token, call, signal, startedAt, sentAt, first);
      return cohort === undefined ? lock : this.becomeHolder(cohort, lock);
    } catch (error) {
      if (cohort !== undefined) this.nextLeader(cohort, resource);
      throw error;
    }
  }

  /**
   * The rest of {@link acquire} once its first attempt found the lock taken: sleeps until a grant
   * notice, the holder's lease end, or the backing-off retry timer, and tries again.
   */
  private async wait(
    resource: string,
    keys: string[][],
    token: string,
    call: ResolvedAcquireOptions,
    signal: AbortSignal | undefined,
    startedAt: number,
    sentAt: number,
    first: Attempt,
  ): Promise<Lock> {
    const { ttlMs } = call;
    const queueEntryMs = this.queueEntryMs(call);
    const deadline = sentAt + call.maxWaitMs;
    const waiter = new GrantWaiter();
    this.notifier?.listen(token, waiter);
    try {
      // The first attempt did not queue (single-server mode): try again at once, queueing this time.
      let attempt =
        this.mode === 'single'
          ? await this.attempt(resource, keys, token, ttlMs, queueEntryMs, false)
          : first;
      for (let attempts = 1; ; attempts += 1) {
        if (attempts > 1) attempt = await this.attempt(resource, keys, token, ttlMs, queueEntryMs, true);
        if (attempt.fence > 0)
          return this.acquired(resource, attempt.fence, attempt.expiresAt, ttlMs, token, keys, startedAt);
        if (attempt.unreplicated !== undefined) return this.failUnreplicated(attempt.unreplicated, startedAt);
        if (waiter.fence > 0) {
          if (this.durability === undefined)
            return this.grantedByNotice(resource, waiter, ttlMs, token, keys, startedAt);
          // Durable mode: the releaser's script wrote the grant, unwaited. The next attempt confirms
          // it: the acquire script finds the lock handed to it and resets its TTL, a write whose WAIT
          // covers the grant before it.
          waiter.fence = 0;
          continue;
        }
        const now = Date.now();
        let reason: LockNotAcquiredReason | undefined;
        if (signal?.aborted) reason = 'aborted';
        else if (attempts > call.retries) reason = attempt.unavailable ? 'unavailable' : 'retries';
        else if (now >= deadline) reason = attempt.unavailable ? 'unavailable' : 'timeout';
        if (reason !== undefined) {
          this.leaveQueue(keys, token);
          return this.notAcquired(
            resource,
            attempts,
            reason,
            startedAt,
            reason === 'aborted' ? signal?.reason : attempt.error,
          );
        }
        let delay = Math.min(
          call.retryDelayMs * 2 ** (attempts - 1),
          Math.max(call.retryDelayMs, this.options.maxRetryDelayMs),
        );
        // The holder's lease ends sooner: look then (an expired lock is handed on by the next attempt).
        if (attempt.holderTtlMs > 0 && attempt.holderTtlMs < delay) delay = attempt.holderTtlMs + 1;
        delay = Math.min(delay + Math.floor(Math.random() * (call.jitterMs + 1)), deadline - now);
        await waiter.sleep(delay, signal);
        if (waiter.fence > 0 && this.durability === undefined)
          return this.grantedByNotice(resource, waiter, ttlMs, token, keys, startedAt);
        if (signal?.aborted) {
          this.leaveQueue(keys, token);
          return this.notAcquired(resource, attempts, 'aborted', startedAt, signal.reason);
        }
      }
    } finally {
      this.notifier?.forget(token);
    }
  }

  /**
   * How long a queue entry outlives its last attempt: past the longest retry delay, so a live waiter
   * is never dropped, yet a dead one does not hold up the queue for long. 0 (no queue) in Redlock mode.
   */
  private queueEntryMs(call: ResolvedAcquireOptions): number {
    if (this.mode !== 'single') return 0;
    return 2 * (Math.max(call.retryDelayMs, this.options.maxRetryDelayMs) + call.jitterMs) + 1_000;
  }

  /**
   * Runs `fn` holding the lock: acquires it (as {@link acquire}), extends it automatically before it
   * expires, and always releases it afterwards. If the lock is lost (an extension finds another
   * holder, or Redis stays unreachable until the lease runs out), `fn`'s signal aborts with a
   * `LockLostError`, and `using` rejects with that error once `fn` has settled, whatever `fn`
   * returned. It never re-acquires silently.
   *
   * @throws LockNotAcquiredError when the lock could not be acquired; LockLostError as above;
   * otherwise whatever `fn` throws.
   */
  async using<T>(resource: string, fn: LockedFunction<T>, options?: AcquireOptions): Promise<T> {
    const lock = await this.acquire(resource, options);
    const { holdSpan } = lock;
    if (holdSpan === undefined)
      return runHolding(lock, this.options.extendAtFraction, () => this.metrics.lost.inc(), fn);
    // Traced: the callback's work nests under the lock's hold span.
    return lockTracer.withSpan(holdSpan, () =>
      runHolding(
        lock,
        this.options.extendAtFraction,
        () => {
          this.metrics.lost.inc();
          holdSpan.setAttribute(LOCK_LOST, true);
        },
        fn,
      ),
    );
  }

  /** @internal Used by {@link Lock.release}. */
  releaseLock(lock: Lock): Promise<boolean> {
    const released = this.releaseHeld(lock);
    if (lock.holdSpan !== undefined) endHold(lock.holdSpan, released);
    return released;
  }

  private releaseHeld(lock: Lock): Promise<boolean> {
    if (this.timed) this.metrics.holdSeconds.observe((performance.now() - lock.acquiredAt) / 1_000);
    const cohort = this.cohorts?.get(lock.resource);
    if (cohort === undefined || cohort.holder !== lock) return this.releaseInRedis(lock, lock.uncontended);
    if (cohort.queue.length === 0 && cohort.parked === undefined) {
      // Nobody of this process waits: the cohort ends here (a caller arriving meanwhile starts a
      // new one, queueing in Redis behind this release).
      cohort.holder = undefined;
      clearTimeout(cohort.expiryTimer);
      clearTimeout(cohort.deadlineTimer);
      this.cohorts?.delete(lock.resource);
      return this.releaseInRedis(lock, lock.uncontended);
    }
    return this.handOverOrRelease(lock);
  }

  /**
   * A cohort's holder hands over in-process while tokens remain and at least half the next caller's
   * TTL is left on the lease (the new holder's expiresAt is the lease's, never more); when its tokens
   * ran out while a renewal is in flight, it waits for that; otherwise the lock goes back to Redis.
   */
  private async handOverOrRelease(lock: Lock): Promise<boolean> {
    const cohort = this.cohorts?.get(lock.resource);
    if (cohort === undefined || cohort.holder !== lock) return this.releaseInRedis(lock, false);
    const next = cohort.queue[0];
    const now = Date.now();
    if (next !== undefined && !cohort.closing && lock.expiresAt - now > next.call.ttlMs / 2) {
      if (lock.fencingToken < cohort.lastToken) {
        cohort.queue.shift();
        next.detach();
        const handed = new Lock(
          this,
          lock.resource,
          lock.fencingToken + 1,
          lock.expiresAt,
          next.call.ttlMs,
          lock.token,
          lock.keys,
        );
        cohort.holder = handed;
        this.metrics.acquire.acquired.inc();
        if (this.timed) {
          handed.acquiredAt = performance.now();
          this.metrics.waitSeconds.observe((handed.acquiredAt - next.startedAt) / 1_000);
        }
        // Hand-overs chain through promise callbacks, which would keep the event loop from reading
        // the renewal's reply until the tokens ran out; while one is in flight, every
        // YIELD_EVERY-th hand-over waits for the next turn of the loop, so that the reply is read.
        if (cohort.renewing && ++cohort.sinceYield >= YIELD_EVERY) {
          cohort.sinceYield = 0;
          setImmediate(next.resolve, handed);
        } else next.resolve(handed);
        // Callers still queued: renew the lease and reserve the next block in the background, so
        // the batch does not stall at the block's end (one renewal in flight at a time).
        // Renewing is also how the batch learns that another process waits: at least every
        // BATCH_CHECK_MS while it lasts.
        if (
          this.mode === 'single' &&
          !cohort.renewing &&
          cohort.queue.length > 0 &&
          (cohort.lastToken - handed.fencingToken < RENEW_BLOCK / 2 ||
            now - cohort.renewedAt >= BATCH_CHECK_MS)
        ) {
          this.renew(cohort, handed);
        }
        return true;
      }
      if (cohort.renewing) {
        return new Promise<boolean>((resolve) => {
          cohort.parked = () => resolve(this.handOverOrRelease(lock));
        });
      }
    }
    cohort.holder = undefined;
    cohort.closing = false;
    clearTimeout(cohort.expiryTimer);
    cohort.expiryTimer = undefined;
    try {
      // Callers of this process wait, and maybe other processes too: the full release script.
      return await this.releaseInRedis(lock, false);
    } finally {
      if (cohort.holder === undefined) this.nextLeader(cohort, lock.resource);
    }
  }

  /**
   * Resets the lease of a cohort's lock and reserves the next block of tokens, unless other
   * processes wait (then this block is the batch's last). Only a block past the current one is
   * used (the counter may have jumped to the clock), so tokens stay strictly increasing; in durable
   * mode, only one enough replicas acknowledged.
   */
  private renew(cohort: Cohort, holder: Lock): void {
    cohort.renewing = true;
    cohort.renewedAt = Date.now();
    const { ttlMs } = holder;
    const sentAt = Date.now();
    const keys = holder.keys[0] as string[];
    const renewKeys = [keys[0]!, keys[1]!, keys[2]!];
    const renewal =
      this.durability === undefined
        ? renewScript.run(this.client, renewKeys, [holder.token, ttlMs])
        : runScriptDurably(renewScript, this.client, renewKeys, [holder.token, ttlMs], this.durability).then(
            // Not acknowledged: neither the lease nor the block is counted, and the batch ends.
            (result) =>
              result.reply > 0 && !this.durable!.acknowledged('extend', result) ? -1 : result.reply,
          );
    renewal.then(
      (reply) => {
        cohort.renewing = false;
        const current = cohort.holder;
        if (current !== undefined && current.token === holder.token) {
          // Tokens past the current block up to the reply are this holder's alone (the counter was
          // at most the block's end, and nobody else could take the lock meanwhile).
          if (reply > 0 && reply - RENEW_BLOCK >= cohort.lastToken) {
            cohort.lastToken = reply;
            const expiresAt = sentAt + ttlMs - this.drift(ttlMs);
            if (expiresAt > current.expiresAt) current.expiresAt = expiresAt;
          } else cohort.closing = true;
        }
        this.unpark(cohort);
      },
      (error: unknown) => {
        this.noteRefusal(error);
        cohort.renewing = false;
        cohort.closing = true;
        this.unpark(cohort);
      },
    );
  }

  private unpark(cohort: Cohort): void {
    const parked = cohort.parked;
    cohort.parked = undefined;
    parked?.();
  }

  /**
   * Releases in Redis: compare-and-delete (or hand to the oldest waiter), on every server in Redlock
   * mode. `uncontended` (single-server mode): the two-key release is tried first.
   */
  private releaseInRedis(lock: Lock, uncontended: boolean): Promise<boolean> {
    if (this.mode !== 'single') return this.releaseQuorum(lock);
    const keys = lock.keys[0] as string[];
    const batcher = this.batchers[0];
    if (batcher !== undefined) return batcher.releaseHeld(keys, lock.token, uncontended);
    if (!uncontended) return this.releaseOn(0, keys, lock.token);
    return releaseUncontendedScript
      .run(this.client, [keys[0]!, keys[2]!], [lock.token])
      .then((reply) => (reply === 2 ? this.releaseOn(0, keys, lock.token) : reply === 1), this.refused);
  }

  /** Releases on every server, including those that did not grant it (they may have, unbeknown to us). */
  private async releaseQuorum(lock: Lock): Promise<boolean> {
    const released = await Promise.all(
      this.servers.map((server, index) =>
        this.releaseOn(index, lock.keys[index] as string[], lock.token).catch(() => false),
      ),
    );
    return released.filter(Boolean).length >= this.quorum;
  }

  /** @internal Used by {@link Lock.extend}. */
  async extendLock(lock: Lock, ttlMs: number): Promise<boolean> {
    checkMilliseconds('ttlMs', ttlMs);
    const sentAt = Date.now();
    let extended: number;
    if (this.durability !== undefined) {
      const result = await runScriptDurably(
        extendScript,
        this.client,
        [(lock.keys[0] as string[])[0] as string],
        [lock.token, ttlMs],
        this.durability,
      ).catch(this.refused);
      if (result.reply === 1 && !this.durable!.acknowledged('extend', result))
        throw this.durable!.unreplicated(lock.resource, 'extend', result);
      extended = result.reply;
    } else if (this.mode === 'single') {
      extended = await extendScript
        .run(this.client, [(lock.keys[0] as string[])[0] as string], [lock.token, ttlMs])
        .catch(this.refused);
    } else {
      const replies = await Promise.all(
        this.servers.map((server, index) =>
          extendScript
            .run(server.client, [(lock.keys[index] as string[])[0] as string], [lock.token, ttlMs])
            .catch(() => 0),
        ),
      );
      extended = replies.filter((value) => value === 1).length >= this.quorum ? 1 : 0;
    }
    const expiresAt = sentAt + ttlMs - this.drift(ttlMs);
    if (extended !== 1 || expiresAt <= Date.now()) return false;
    lock.expiresAt = expiresAt;
    return true;
  }

  /** A first attempt (single-server mode): the take script, in this turn's batch when batching. */
  private take(serverKeys: string[], token: string, ttlMs: number): Promise<number> {
    return this.takeOn(0, serverKeys, token, ttlMs);
  }

  /** The take script on one server, in this turn's batch there unless it is a Cluster. */
  private takeOn(
    index: number,
    serverKeys: readonly string[],
    token: string,
    ttlMs: number,
  ): Promise<number> {
    const batcher = this.batchers[index];
    if (batcher !== undefined) return batcher.takeReply(serverKeys[0]!, serverKeys[1]!, token, ttlMs);
    const { client } = this.servers[index] as LockServer;
    return takeScript.run(client, [serverKeys[0]!, serverKeys[1]!], [token, ttlMs]);
  }

  /**
   * The release script on one server, in this turn's batch there unless it is a Cluster: true when
   * the caller held the lock there (it is now free, or handed to the oldest waiter).
   */
  private releaseOn(index: number, serverKeys: readonly string[], token: string): Promise<boolean> {
    const batcher = this.batchers[index];
    if (batcher !== undefined) return batcher.releaseHeld(serverKeys, token, false);
    const { client, connection } = this.servers[index] as LockServer;
    return releaseScript.run(client, serverKeys, [token]).then(
      (reply) => reply === 1,
      (error: unknown) => {
        throw connection.notePermission('lock', error) ?? error;
      },
    );
  }

  /** The four keys of `resource` on each server; they share the resource as their hash tag. */
  private keysOf(resource: string): string[][] {
    if (this.servers.length === 1) {
      const base = this.keyspace.tagged(resource);
      return [[`${base}:owner`, `${base}:fence`, `${base}:queue`, `${base}:waiters`]];
    }
    return this.servers.map(({ keyspace }) => {
      const base = keyspace.tagged(resource);
      return [`${base}:owner`, `${base}:fence`, `${base}:queue`, `${base}:waiters`];
    });
  }

  private drift(ttlMs: number): number {
    return Math.floor(ttlMs * this.options.driftFactor) + 2;
  }

  /** One acquisition round: one script call, or one on every server and a quorum count. */
  /**
   * `error`, or the RedisPermissionError it stands for when Redis refused the ACL user: logged once
   * and reported by the connection's health; the caller's LockNotAcquiredError carries it as cause.
   * @internal
   */
  readonly noteRefusal = (error: unknown): unknown =>
    (this.servers[0] as LockServer).connection.notePermission('lock', error) ?? error;

  /** Rethrows `error`, recorded as {@link noteRefusal} does. */
  private readonly refused = (error: unknown): never => {
    throw this.noteRefusal(error);
  };

  private async attempt(
    resource: string,
    keys: string[][],
    token: string,
    ttlMs: number,
    queueEntryMs: number,
    retry: boolean,
  ): Promise<Attempt> {
    const sentAt = Date.now();
    if (this.mode !== 'single') return this.attemptQuorum(keys, token, ttlMs, sentAt);
    if (this.durability !== undefined)
      return this.attemptDurably(resource, keys, token, ttlMs, queueEntryMs, retry, this.durability);
    const serverKeys = keys[0] as string[];
    let reply: number;
    try {
      reply =
        queueEntryMs === 0
          ? await this.take(serverKeys, token, ttlMs)
          : await acquireScript.run(this.client, serverKeys, [
              token,
              ttlMs,
              this.channel,
              queueEntryMs,
              retry ? '1' : '0',
            ]);
    } catch (error) {
      return unavailable(this.noteRefusal(error));
    }
    return reply > 0
      ? { fence: reply, expiresAt: sentAt + ttlMs - this.drift(ttlMs), holderTtlMs: 0, unavailable: false }
      : { fence: 0, expiresAt: 0, holderTtlMs: -reply, unavailable: false };
  }

  /**
   * {@link attempt} in durable mode: the same scripts, each followed by WAIT. A grant too few replicas
   * acknowledged is released at once (best effort) and reported as `unreplicated`.
   */
  private async attemptDurably(
    resource: string,
    keys: string[][],
    token: string,
    ttlMs: number,
    queueEntryMs: number,
    retry: boolean,
    durability: ResolvedDurability,
  ): Promise<Attempt> {
    const sentAt = Date.now();
    const serverKeys = keys[0] as string[];
    let result: DurableReply<number>;
    try {
      result =
        queueEntryMs === 0
          ? await runScriptDurably(
              takeScript,
              this.client,
              [serverKeys[0]!, serverKeys[1]!],
              [token, ttlMs],
              durability,
            )
          : await runScriptDurably(
              acquireScript,
              this.client,
              serverKeys,
              [token, ttlMs, this.channel, queueEntryMs, retry ? '1' : '0'],
              durability,
            );
    } catch (error) {
      return unavailable(this.noteRefusal(error));
    }
    const { reply } = result;
    if (reply <= 0) return { fence: 0, expiresAt: 0, holderTtlMs: -reply, unavailable: false };
    if (this.durable!.acknowledged('acquire', result))
      return {
        fence: reply,
        expiresAt: sentAt + ttlMs - this.drift(ttlMs),
        holderTtlMs: 0,
        unavailable: false,
      };
    const unreplicated = this.durable!.unreplicated(resource, 'acquire', result);
    await releaseScript.run(this.client, serverKeys, [token]).catch(() => 0);
    return { fence: 0, expiresAt: 0, holderTtlMs: 0, unavailable: false, unreplicated };
  }

  /**
   * Redlock round: the acquire script on every server at once; held when a quorum granted it and
   * validity remains, counted from before this round's requests (never from an earlier round).
   * When the quorum's fencing counters differ, they are raised to the highest on a quorum first, so
   * the next holder's quorum, which shares a server with this one, counts past it.
   * A failed round releases on every server, so it leaves no partial lock behind.
   */
  private async attemptQuorum(
    keys: string[][],
    token: string,
    ttlMs: number,
    sentAt: number,
  ): Promise<Attempt> {
    let error: unknown;
    const replies = await Promise.all(
      this.servers.map((server, index) =>
        this.takeOn(index, keys[index] as string[], token, ttlMs).catch((failure: unknown) => {
          error = failure;
          return undefined;
        }),
      ),
    );
    let granted = 0;
    let answered = 0;
    let highest = 0;
    let lowest = Infinity;
    let holderTtlMs = 0;
    for (const reply of replies) {
      if (reply === undefined) continue;
      answered += 1;
      if (reply > 0) {
        granted += 1;
        highest = Math.max(highest, reply);
        lowest = Math.min(lowest, reply);
      } else holderTtlMs = Math.max(holderTtlMs, -reply);
    }
    let held = granted >= this.quorum;
    if (held && lowest !== highest) {
      const raised = await Promise.all(
        this.servers.map((server, index) =>
          (replies[index] ?? 0) > 0
            ? raiseFenceScript
                .run(server.client, (keys[index] as string[]).slice(0, 2), [token, highest, ttlMs])
                .catch(() => 0)
            : 0,
        ),
      );
      held = raised.filter((value) => value === 1).length >= this.quorum;
    }
    const expiresAt = sentAt + ttlMs - this.drift(ttlMs);
    if (held && expiresAt > Date.now())
      return { fence: highest, expiresAt, holderTtlMs: 0, unavailable: false };
    await Promise.all(
      this.servers.map((_, index) =>
        this.releaseOn(index, keys[index] as string[], token).catch(() => false),
      ),
    );
    return { fence: 0, expiresAt: 0, holderTtlMs, unavailable: answered < this.quorum, error };
  }

  private acquired(
    resource: string,
    lastToken: number,
    expiresAt: number,
    ttlMs: number,
    token: string,
    keys: string[][],
    startedAt: number,
  ): Lock {
    this.metrics.acquire.acquired.inc();
    // Redis answers with the last token of the reserved block; the holder takes the first.
    const lock = new Lock(this, resource, lastToken - FENCE_BLOCK + 1, expiresAt, ttlMs, token, keys);
    if (this.timed) {
      lock.acquiredAt = performance.now();
      this.metrics.waitSeconds.observe((lock.acquiredAt - startedAt) / 1_000);
    }
    return lock;
  }

  /**
   * The release script handed the lock to this waiter and said so. Its TTL started then; the notice
   * arrived a moment later, so the estimate counts from the notice's arrival less the drift allowance.
   */
  private grantedByNotice(
    resource: string,
    waiter: GrantWaiter,
    ttlMs: number,
    token: string,
    keys: string[][],
    startedAt: number,
  ): Lock {
    return this.acquired(
      resource,
      waiter.fence,
      waiter.grantedAt + ttlMs - this.drift(ttlMs),
      ttlMs,
      token,
      keys,
      startedAt,
    );
  }

  private notAcquired(
    resource: string,
    attempts: number,
    reason: LockNotAcquiredReason,
    startedAt: number,
    cause: unknown,
  ): never {
    const outcome = reason === 'aborted' ? 'aborted' : reason === 'unavailable' ? 'error' : 'not_acquired';
    this.metrics.acquire[outcome].inc();
    if (this.timed) this.metrics.waitSeconds.observe((performance.now() - startedAt) / 1_000);
    throw new LockNotAcquiredError(resource, attempts, reason, cause === undefined ? undefined : { cause });
  }

  /**
   * Leaves the wait queue after giving up. The release script does that, and if the lock was handed
   * to us meanwhile, releases it to the next waiter. Not awaited: giving up must be prompt.
   */
  private leaveQueue(keys: string[][], token: string): void {
    if (this.mode !== 'single') return;
    releaseScript.run(this.client, keys[0] as string[], [token]).catch(() => 0);
  }
}
