import { LockLostError } from './lock.errors.js';

/** @internal What a lease asks of the primitive that granted it. */
export interface LeaseOwner {
  releaseLease(lease: LeaseHandle): Promise<boolean>;
  extendLease(lease: LeaseHandle, ttlMs: number): Promise<boolean>;
}

/**
 * A lease held from a semaphore or a read-write lock. `fencingToken` is strictly greater than that
 * of every earlier grant of the same primitive. `signal` aborts (with `LockLostError`) when the lease
 * is known lost: its local estimate ran out without an extension, or `extend` found it gone.
 */
export class LeaseHandle {
  /** Epoch milliseconds until which the lease is considered held; moved forward by {@link extend}. */
  expiresAt: number;
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private releasing?: Promise<boolean>;

  constructor(
    private readonly owner: LeaseOwner,
    /** The primitive's name. */
    readonly resource: string,
    /** Unique to this grant; what Redis knows the holder by. */
    readonly id: string,
    readonly fencingToken: number,
    expiresAt: number,
    /** The lease it was granted with; the default of {@link extend}. */
    readonly ttlMs: number,
  ) {
    this.expiresAt = expiresAt;
    this.watch();
  }

  /** Aborts when the lease is known lost (never once released). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Milliseconds of validity left by the local estimate (0 once expired). */
  get remainingMs(): number {
    return Math.max(0, this.expiresAt - Date.now());
  }

  /**
   * Restarts the lease at `ttlMs` from now if this grant still holds it. Resolves false when the
   * lease had ended (it is never granted back, even if nobody has taken its place yet); rejects only
   * when Redis cannot be reached.
   */
  async extend(ttlMs: number = this.ttlMs): Promise<boolean> {
    if (this.releasing !== undefined) return false;
    const extended = await this.owner.extendLease(this, ttlMs);
    if (!extended) this.lose('an extension found its lease ended');
    return extended;
  }

  /** Gives the lease up (at most once; later calls give the first answer). False when it had ended. */
  release(): Promise<boolean> {
    clearTimeout(this.timer);
    this.releasing ??= this.owner.releaseLease(this);
    return this.releasing;
  }

  /** @internal Re-arms the loss timer after an extension moved `expiresAt`. */
  watch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (Date.now() >= this.expiresAt) this.lose('its lease ran out before an extension');
      else this.watch();
    }, this.remainingMs + 1);
    this.timer.unref();
  }

  private lose(reason: string): void {
    clearTimeout(this.timer);
    if (this.releasing !== undefined || this.controller.signal.aborted) return;
    this.controller.abort(new LockLostError(this.resource, this.fencingToken, 0, reason));
  }
}
