import type { RedkitSpan } from '@redkit/redis';

/** @internal What a {@link Lock} asks of the service that granted it. */
export interface LockOwner {
  releaseLock(lock: Lock): Promise<boolean>;
  extendLock(lock: Lock, ttlMs: number): Promise<boolean>;
}

/**
 * A held lock. `fencingToken` is strictly greater than that of every earlier holder of the same
 * resource: pass it to the storage you protect and have it refuse writes carrying a smaller token,
 * which is what keeps a holder that stalled past its expiry (GC pause, network partition) from doing
 * damage. `expiresAt` is a conservative local estimate (the TTL counted from before the request,
 * less the drift allowance).
 */
export class Lock {
  /** Epoch milliseconds until which the lock is considered held; moved forward by {@link extend}. */
  expiresAt: number;
  /** @internal `performance.now()` at acquisition, for the hold-time metric (0 when none is kept). */
  acquiredAt = 0;
  /**
   * @internal Got on a first attempt, nobody waiting for it in Redis: its release tries the two-key
   * uncontended release script first.
   */
  uncontended = false;
  /** @internal While tracing: the `lock hold` span, from the grant to the release. */
  holdSpan: RedkitSpan | undefined = undefined;
  private releasing?: Promise<boolean>;

  constructor(
    private readonly owner: LockOwner,
    /** The resource name as given to `acquire`. */
    readonly resource: string,
    /** Strictly increasing per resource, across every holder and process. */
    readonly fencingToken: number,
    expiresAt: number,
    /** The TTL it was acquired with; the default of {@link extend}. */
    readonly ttlMs: number,
    /** @internal The random value stored in Redis; only its holder knows it. */
    readonly token: string,
    /** @internal The resource's keys, per server. */
    readonly keys: readonly (readonly string[])[],
  ) {
    this.expiresAt = expiresAt;
  }

  /** Milliseconds of validity left by the local estimate (0 once expired). */
  get remainingMs(): number {
    return Math.max(0, this.expiresAt - Date.now());
  }

  /** True once {@link release} was called. */
  get released(): boolean {
    return this.releasing !== undefined;
  }

  /**
   * Sets the lock's TTL to `ttlMs` from now, if this holder still holds it. Resolves false (changing
   * nothing) when the lock expired or is held by someone else; rejects only when Redis cannot be
   * reached.
   */
  extend(ttlMs: number = this.ttlMs): Promise<boolean> {
    if (this.releasing !== undefined) return Promise.resolve(false);
    return this.owner.extendLock(this, ttlMs);
  }

  /**
   * Releases the lock (handing it to the oldest waiter, if any) if this holder still holds it.
   * Resolves false when it had expired or was taken over: another holder's lock is never freed.
   * Calling it again returns the first call's answer.
   */
  release(): Promise<boolean> {
    this.releasing ??= this.owner.releaseLock(this);
    return this.releasing;
  }
}
