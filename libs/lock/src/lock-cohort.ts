import type { Lock } from './lock.js';
import type { ResolvedAcquireOptions } from './lock-options.validator.js';

/** A waiter of this process queued behind a holder of this process (in-process hand-over). */
export class LocalWaiter {
  readonly promise: Promise<Lock>;
  resolve!: (lock: Lock) => void;
  reject!: (error: unknown) => void;
  /** Set while listening to the caller's signal. */
  onAbort?: () => void;

  constructor(
    readonly call: ResolvedAcquireOptions,
    readonly signal: AbortSignal | undefined,
    readonly startedAt: number,
    readonly deadline: number,
  ) {
    this.promise = new Promise<Lock>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Stops listening to the signal (the cohort's deadline timer needs no undoing). */
  detach(): void {
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort);
    this.onAbort = undefined;
  }
}

/**
 * The in-process side of one resource while this process holds or is getting its lock: later
 * callers of this process queue here, and a release hands the lock to the next of them without a
 * Redis round trip (same Redis token, the next fencing token of the reserved block), up to
 * FENCE_BLOCK - 1 times; then the lock goes back through Redis, where other processes' waiters are
 * served first. A class with every field set from the start: one object shape for all cohorts, created
 * on every uncontended acquisition.
 */
export class Cohort {
  holder: Lock | undefined = undefined;
  /** Last fencing token of the block reserved by the Redis acquisition the holder descends from. */
  lastToken = 0;
  queue: LocalWaiter[] = [];
  /** Notices a holder that lets its lease run out without releasing, so the queue moves on. */
  expiryTimer: NodeJS.Timeout | undefined = undefined;
  /** A renewal of the lease and the token block is in flight (single-server mode). */
  renewing = false;
  /** Other processes wait (or a renewal failed): the next release goes back through Redis. */
  closing = false;
  /** When the last renewal was sent (or the lock acquired in Redis). */
  renewedAt = 0;
  /** Hand-overs since the last one deferred to the next loop turn. */
  sinceYield = 0;
  /** The holder's release, waiting for the renewal in flight because its block ran out. */
  parked: (() => void) | undefined = undefined;
  /** One timer for the queue's deadlines (not one per waiter), and when it fires. */
  deadlineTimer: NodeJS.Timeout | undefined = undefined;
  deadlineAt: number | undefined = undefined;
}
