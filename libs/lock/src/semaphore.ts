import { runScriptDurably, type DurableReply, type RedisClient, type RedisKeyspace } from '@redkit/redis';

import { GrantWaiter } from './grant-waiter.js';
import { newToken } from './lease-token.js';
import { runHolding } from './lock-extender.js';
import type { LockGrantNotifier } from './lock-grant.notifier.js';
import { LeaseHandle, type LeaseOwner } from './lease-handle.js';
import { leaseEnd, leaseTimings, waitForLease } from './lease-wait.js';
import {
  LockDurabilityError,
  LockNotAcquiredError,
  LockOptionsError,
  type LockNotAcquiredReason,
} from './lock.errors.js';
import { checkMilliseconds, type ResolvedLockOptions } from './lock-options.validator.js';
import {
  SEMAPHORE_FENCE_BLOCK,
  semaphoreAcquireScript,
  semaphoreAvailableScript,
  semaphoreExtendScript,
  semaphoreReleaseScript,
} from './semaphore-scripts.js';
import { outcomeOf, type LeaseMetrics } from './lease.metrics.js';
import type { LockDurability } from './lock-durability.js';

/** What a semaphore is: its size and how it grants. Unset timings take the `LockModule`'s. */
export interface SemaphoreOptions {
  /** Permits in all (1 to 2^31): what the holders' permits may add up to at most. */
  limit: number;
  /**
   * Grant in arrival order: a waiter is queued in Redis and served before anyone who came later
   * (even one asking for fewer permits), woken by a notice when its turn comes (its retry timer is
   * the fallback). Default false: whoever asks when permits are free gets them; waiters retry on a
   * backing-off timer.
   */
  fair?: boolean;
  /** Lease of a grant unless extended. Default: the LockModule's `ttlMs`. */
  ttlMs?: number;
  /** Longest an `acquire` waits. Default: the LockModule's `maxWaitMs`. */
  maxWaitMs?: number;
}

/** Options of one `acquire` (and of `using`). */
export interface SemaphoreAcquireOptions {
  ttlMs?: number;
  maxWaitMs?: number;
  /** Aborting stops the wait at once with `LockNotAcquiredError` (reason `aborted`). */
  signal?: AbortSignal;
}

/** Permits held from a {@link Semaphore}: a lease (see {@link LeaseHandle}) on `permits` of them. */
export class SemaphorePermit extends LeaseHandle {
  constructor(
    owner: LeaseOwner,
    resource: string,
    id: string,
    readonly permits: number,
    fencingToken: number,
    expiresAt: number,
    ttlMs: number,
    /** @internal The last token of the block reserved with the grant in Redis. */
    readonly blockEnd: number = fencingToken,
  ) {
    super(owner, resource, id, fencingToken, expiresAt, ttlMs);
  }
}

/** @internal Everything a Semaphore shares with the LockService that made it. */
export interface SemaphoreContext {
  client: RedisClient;
  keyspace: RedisKeyspace;
  notifier?: LockGrantNotifier;
  defaults: ResolvedLockOptions;
  metrics: LeaseMetrics;
  /**
   * `error`, or the RedisPermissionError it stands for when Redis refused the ACL user, recorded on
   * the connection (logged once, reported by its health).
   */
  noteRefusal(error: unknown): unknown;
  /** The LockService's durable mode: grants and extensions wait for replicas. */
  durable?: LockDurability;
}

/** What the acquire script answers: [token or minus a wait hint, 1 when other objects wait]. */
type AcquireReply = [reply: number, othersWait: number];

const MAX_LIMIT = 2 ** 31;

function checkCount(option: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new LockOptionsError(option, `must be a whole number from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * A counting semaphore on Redis: at most `limit` permits held at once across every process, each
 * grant a lease (a holder that dies gives its permits back when the lease ends), with a fencing token.
 * One object serves any number of concurrent `acquire`s: every grant has an id of its own. Times are
 * the Redis server's (`TIME` in Lua); the clients' clocks only time their own waits. A holder of many
 * permits is one entry, so `acquire(5000)` costs what `acquire(1)` does. Made by
 * `LockService.semaphore(name, options)`; every option is validated there.
 *
 * @example
 * const exports = locks.semaphore('exports', { limit: 4, fair: true });
 * await exports.using(async (signal, permit) => runExport(signal), { permits: 1 });
 */
export class Semaphore implements LeaseOwner {
  readonly limit: number;
  readonly fair: boolean;
  /** The lease and longest wait of a call that gives none. */
  private readonly timings: { ttlMs: number; maxWaitMs: number };
  private readonly keys: string[];
  /**
   * Non-fair mode: this object's waiters by the permits they ask for, in arrival order. Only the
   * first of each list attempts in Redis; the others stand by for a permit handed over in-process
   * (see releaseLease) or their turn.
   */
  private readonly handOff = new Map<number, GrantWaiter[]>();
  /** This object's id in the `contended` hash (non-fair mode). */
  private readonly object = newToken();
  /**
   * Non-fair mode: another semaphore object (another process) was refused recently, as of the last
   * reply. Then permits go back through Redis on every release, and nobody here is woken for them:
   * this object's first waiter and the other's meet them on their timers.
   */
  private othersWait = false;

  constructor(
    /** The name, also the hash tag of its keys. */
    readonly name: string,
    options: SemaphoreOptions,
    private readonly context: SemaphoreContext,
  ) {
    if (typeof options !== 'object' || options === null) {
      throw new LockOptionsError('semaphore', 'options must be an object with a limit');
    }
    this.limit = checkCount('limit', options.limit, MAX_LIMIT);
    this.fair = options.fair ?? false;
    if (typeof this.fair !== 'boolean')
      throw new LockOptionsError('fair', `must be a boolean, got ${String(this.fair)}`);
    this.timings = leaseTimings(options, context.defaults);
    const base = context.keyspace.tagged(name);
    this.keys = ['holders', 'permits', 'used', 'fence', 'queue', 'waiters', 'contended'].map(
      (part) => `${base}:${part}`,
    );
  }

  /**
   * One attempt: `permits` (default 1) now, or `null` when they are not free (or, in fair mode,
   * others wait). Rejects with `LockNotAcquiredError` (`unavailable`) when Redis cannot be reached.
   */
  async tryAcquire(
    permits = 1,
    options: Omit<SemaphoreAcquireOptions, 'maxWaitMs' | 'signal'> = {},
  ): Promise<SemaphorePermit | null> {
    const n = checkCount('permits', permits, this.limit);
    const { ttlMs } = leaseTimings(options, this.timings);
    const id = newToken();
    const sentAt = Date.now();
    let reply: number;
    try {
      [reply] = await this.runAcquire([
        id,
        n,
        this.limit,
        ttlMs,
        this.fair ? '1' : '0',
        '',
        0,
        this.object,
        '0',
      ]);
    } catch (error) {
      this.context.metrics.acquire.error.inc();
      if (error instanceof LockDurabilityError) throw error;
      throw new LockNotAcquiredError(this.name, 1, 'unavailable', { cause: this.context.noteRefusal(error) });
    }
    if (reply > 0) {
      this.context.metrics.acquire.acquired.inc();
      return this.permit(id, n, reply, sentAt, ttlMs);
    }
    this.context.metrics.acquire.not_acquired.inc();
    return null;
  }

  /**
   * Acquires `permits` (default 1), waiting until they are free: in fair mode queued in Redis in
   * arrival order and woken by a notice, otherwise retrying on a backing-off, jittered timer (and
   * when the earliest lease ends).
   *
   * @throws LockNotAcquiredError when `maxWaitMs` passes, `signal` aborts, or Redis cannot be reached
   * until then; LockOptionsError when `permits` is not a whole number from 1 to `limit`.
   */
  async acquire(permits = 1, options: SemaphoreAcquireOptions = {}): Promise<SemaphorePermit> {
    const n = checkCount('permits', permits, this.limit);
    const { ttlMs, maxWaitMs } = leaseTimings(options, this.timings);
    const { notifier, defaults, metrics } = this.context;
    const startedAt = performance.now();
    const id = newToken();
    const fair = this.fair ? '1' : '0';
    const channel = this.fair && notifier !== undefined ? notifier.channel : '';
    // A fair queue entry outlives the waiter's longest sleep twice over, so a live waiter never drops
    // out of it. A `contended` entry outlives one sleep: it is refreshed by each refusal, and lapses
    // soon after the object stops waiting, so that the others resume hand-overs.
    const longestSleep = defaults.maxRetryDelayMs + defaults.jitterMs;
    const waitEntryMs = this.fair ? 2 * longestSleep + 1_000 : longestSleep + 250;
    const waiter = new GrantWaiter();
    if (channel !== '') notifier?.listen(id, waiter);
    // Non-fair mode: a permit of as many permits released in this process meanwhile can be handed
    // straight to this waiter (see releaseLease).
    const local = this.fair ? undefined : this.localWaiters(n);
    local?.push(waiter);
    try {
      const outcome = await waitForLease({
        attempt: async () => {
          const [reply, othersWait] = await this.runAcquire([
            id,
            n,
            this.limit,
            ttlMs,
            fair,
            channel,
            waitEntryMs,
            this.object,
            // Its last waiter granted, the object no longer waits.
            local !== undefined && local.length <= 1 ? '1' : '0',
          ]).catch(this.refused);
          if (!this.fair) this.othersWait = othersWait === 1;
          return reply;
        },
        maxWaitMs,
        timing: defaults,
        signal: options.signal,
        waiter,
        // Only the first of the object's waiters for n permits polls Redis: a caller of this process
        // that just released cannot grab the permits back ahead of another process's waiter.
        standBy: local && (() => local[0] !== waiter),
        confirmNotices: this.context.durable !== undefined,
      });
      if (!outcome.granted)
        return await this.gaveUp(id, outcome.attempts, outcome.reason, startedAt, outcome.cause);
      metrics.acquire.acquired.inc();
      metrics.waitSeconds.observe((performance.now() - startedAt) / 1_000);
      if (outcome.handed instanceof SemaphorePermit) return outcome.handed;
      return this.permit(id, n, outcome.fencingToken, outcome.sentAt, ttlMs);
    } finally {
      if (channel !== '') notifier?.forget(id);
      if (local !== undefined) {
        const at = local.indexOf(waiter);
        local.splice(at, 1);
        // The next in line attempts in Redis from now on.
        if (at === 0) local[0]?.nudge();
      }
    }
  }

  /**
   * Runs `fn` holding `permits` (default 1): acquires them (as {@link acquire}), extends the lease
   * while `fn` runs, and always releases them. If the lease is lost, `fn`'s signal aborts with a
   * `LockLostError` and `using` rejects with it once `fn` settles.
   */
  async using<T>(
    fn: (signal: AbortSignal, permit: SemaphorePermit) => Promise<T> | T,
    options: SemaphoreAcquireOptions & { permits?: number } = {},
  ): Promise<T> {
    const permit = await this.acquire(options.permits ?? 1, options);
    return runHolding(
      permit,
      this.context.defaults.extendAtFraction,
      () => this.context.metrics.lost.inc(),
      fn,
    );
  }

  /** Permits free now: `limit` less those of live holders (leases that ended count as free). Exact. */
  available(): Promise<number> {
    return semaphoreAvailableScript.run(this.context.client, this.keys, [this.limit]).catch(this.refused);
  }

  /**
   * @internal Used by {@link SemaphorePermit.release}. In non-fair mode, permits released while a
   * waiter of this object sleeps for as many are handed to it in-process, with no round trip: the
   * same grant in Redis (the same lease, which must have at least half its TTL left), the next token
   * of the block reserved with it. At most SEMAPHORE_FENCE_BLOCK - 1 times per grant, so the permits
   * go back through Redis, where other processes compete for them, at least every 16 holders.
   */
  async releaseLease(lease: LeaseHandle): Promise<boolean> {
    const permit = lease as SemaphorePermit;
    if (
      !this.fair &&
      !this.othersWait &&
      permit.fencingToken < permit.blockEnd &&
      permit.remainingMs > permit.ttlMs / 2
    ) {
      const next = this.handOffTarget(permit.permits);
      if (next !== undefined) {
        const handed = new SemaphorePermit(
          this,
          this.name,
          permit.id,
          permit.permits,
          permit.fencingToken + 1,
          permit.expiresAt,
          permit.ttlMs,
          permit.blockEnd,
        );
        next.handed = handed;
        next.granted(handed.fencingToken, Date.now());
        return true;
      }
    }
    const released = await semaphoreReleaseScript
      .run(this.context.client, this.keys, [permit.id, this.limit])
      .catch(this.refused);
    // Permits are free in Redis: the first waiter of each list (the only ones attempting) looks now
    // rather than when its backing-off timer says.
    if (!this.fair && !this.othersWait) for (const waiters of this.handOff.values()) waiters[0]?.nudge();
    return released === 1;
  }

  /**
   * The acquire script; in durable mode followed by WAIT, and a grant too few replicas acknowledged
   * is returned (best effort) and rejects with LockDurabilityError.
   */
  private async runAcquire(args: (string | number)[]): Promise<AcquireReply> {
    const { client, durable } = this.context;
    if (durable === undefined) return semaphoreAcquireScript.run(client, this.keys, args as never);
    const result = (await runScriptDurably(
      semaphoreAcquireScript,
      client,
      this.keys,
      args as never,
      durable.settings,
    )) as DurableReply<AcquireReply>;
    if (result.reply[0] <= 0 || durable.acknowledged('acquire', result)) return result.reply;
    const error = durable.unreplicated(this.name, 'acquire', result);
    await semaphoreReleaseScript.run(client, this.keys, [args[0] as string, this.limit]).catch(() => 0);
    throw error;
  }

  /** Rethrows `error`, recorded on the connection when Redis refused the ACL user. */
  private readonly refused = (error: unknown): never => {
    throw this.context.noteRefusal(error);
  };

  /** Waiters of this object for `n` permits, by arrival. */
  private localWaiters(n: number): GrantWaiter[] {
    let waiters = this.handOff.get(n);
    if (waiters === undefined) this.handOff.set(n, (waiters = []));
    return waiters;
  }

  /** The oldest waiter for `n` permits that sleeps between attempts (none has an attempt in flight). */
  private handOffTarget(n: number): GrantWaiter | undefined {
    return this.handOff.get(n)?.find((waiter) => waiter.sleeping && waiter.handed === undefined);
  }

  /** @internal Used by {@link SemaphorePermit.extend}. */
  async extendLease(permit: LeaseHandle, ttlMs: number): Promise<boolean> {
    checkMilliseconds('ttlMs', ttlMs);
    const sentAt = Date.now();
    const { client, durable } = this.context;
    let extended: boolean;
    if (durable === undefined) {
      extended =
        (await semaphoreExtendScript.run(client, this.keys, [permit.id, ttlMs]).catch(this.refused)) === 1;
    } else {
      const result = await runScriptDurably(
        semaphoreExtendScript,
        client,
        this.keys,
        [permit.id, ttlMs],
        durable.settings,
      ).catch(this.refused);
      extended = result.reply === 1;
      if (extended && !durable.acknowledged('extend', result))
        throw durable.unreplicated(this.name, 'extend', result);
    }
    if (extended) {
      permit.expiresAt = Math.max(
        permit.expiresAt,
        leaseEnd(sentAt, ttlMs, this.context.defaults.driftFactor),
      );
      permit.watch();
    }
    return extended;
  }

  /** A permit granted in Redis: `blockEnd` is the script's reply, the holder takes the block's first token. */
  private permit(id: string, n: number, blockEnd: number, sentAt: number, ttlMs: number): SemaphorePermit {
    return new SemaphorePermit(
      this,
      this.name,
      id,
      n,
      blockEnd - SEMAPHORE_FENCE_BLOCK + 1,
      leaseEnd(sentAt, ttlMs, this.context.defaults.driftFactor),
      ttlMs,
      blockEnd,
    );
  }

  /** Leaves the queue (returning permits granted meanwhile) and rejects. */
  private async gaveUp(
    id: string,
    attempts: number,
    reason: LockNotAcquiredReason,
    startedAt: number,
    cause: unknown,
  ): Promise<never> {
    // A grant may have landed after the last attempt: the release script returns it, or drops the
    // queue entry. If Redis is unreachable, both lapse by themselves. A waiter that stood by all
    // along made no attempt, so there is nothing to undo.
    if (attempts > 0)
      await semaphoreReleaseScript.run(this.context.client, this.keys, [id, this.limit]).catch(() => 0);
    this.context.metrics.acquire[outcomeOf(reason)].inc();
    this.context.metrics.waitSeconds.observe((performance.now() - startedAt) / 1_000);
    // Durable mode: the grant the replicas did not acknowledge was given back already.
    if (cause instanceof LockDurabilityError) throw cause;
    throw new LockNotAcquiredError(this.name, attempts, reason, cause === undefined ? undefined : { cause });
  }
}
