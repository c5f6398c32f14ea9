import { GrantWaiter } from './grant-waiter.js';
import { LockDurabilityError, type LockNotAcquiredReason } from './lock.errors.js';
import { checkMilliseconds, type ResolvedLockOptions } from './lock-options.validator.js';

/** How a wait for a lease ended. */
export type LeaseWaitOutcome =
  | { granted: true; fencingToken: number; sentAt: number; handed?: unknown }
  | { granted: false; reason: LockNotAcquiredReason; attempts: number; cause?: unknown };

/** What {@link waitForLease} needs. */
export interface LeaseWait {
  /** One attempt: the fencing token (> 0) when granted, else minus a hint of how long to wait (<= 0). */
  attempt(): Promise<number>;
  maxWaitMs: number;
  /** Retry delays and jitter. */
  timing: Pick<ResolvedLockOptions, 'retryDelayMs' | 'maxRetryDelayMs' | 'jitterMs'>;
  signal?: AbortSignal;
  /** Set when a grant notice can wake the wait early (the next attempt collects the grant). */
  waiter?: GrantWaiter;
  /**
   * True while another caller of this process attempts on this one's behalf: the wait then makes no
   * attempt of its own and sleeps until the deadline, a hand-over or a {@link GrantWaiter.nudge}
   * (which makes it look again).
   */
  standBy?: () => boolean;
  /**
   * Durable mode: a grant notice is not final, since the grant was written (unwaited) by another
   * caller's script; the next attempt confirms it with a write of its own that is waited for.
   */
  confirmNotices?: boolean;
}

/**
 * @internal The wait loop of semaphores and read-write locks: attempts until granted, sleeping
 * between attempts on a backing-off, jittered timer (shortened to the attempt's hint, cut short by a
 * grant notice), until `maxWaitMs` passes or `signal` aborts. A failed attempt (Redis unreachable)
 * is retried like a refusal. Never throws: the outcome says how it ended.
 */
export async function waitForLease(wait: LeaseWait): Promise<LeaseWaitOutcome> {
  const { timing, signal } = wait;
  const sleeper = wait.waiter ?? new GrantWaiter();
  const deadline = Date.now() + wait.maxWaitMs;
  let cause: unknown;
  for (let attempts = 1; ; attempts += 1) {
    if (signal?.aborted)
      return { granted: false, reason: 'aborted', attempts: attempts - 1, cause: signal.reason };
    if (wait.standBy?.()) {
      const left = deadline - Date.now();
      if (left <= 0) return { granted: false, reason: 'timeout', attempts: attempts - 1, cause };
      await sleeper.sleep(left, signal);
      const handed = handedOver(sleeper, wait.confirmNotices === true);
      if (handed) return handed;
      attempts -= 1;
      continue;
    }
    const sentAt = Date.now();
    let reply: number | undefined;
    try {
      reply = await wait.attempt();
      cause = undefined;
    } catch (error) {
      // Durable mode: granted but not replicated (and given back): waiting longer will not help.
      if (error instanceof LockDurabilityError)
        return { granted: false, reason: 'unavailable', attempts, cause: error };
      cause = error;
    }
    if (reply !== undefined && reply > 0) return { granted: true, fencingToken: reply, sentAt };
    const now = Date.now();
    if (now >= deadline) {
      return { granted: false, reason: cause === undefined ? 'timeout' : 'unavailable', attempts, cause };
    }
    let delay = Math.min(
      timing.retryDelayMs * 2 ** (attempts - 1),
      Math.max(timing.retryDelayMs, timing.maxRetryDelayMs),
    );
    if (reply !== undefined && reply < 0 && -reply < delay) delay = -reply + 1;
    delay = Math.min(delay + Math.floor(Math.random() * (timing.jitterMs + 1)), deadline - now);
    await sleeper.sleep(delay, signal);
    // Handed over in-process, or granted in Redis and told so, while it slept: no attempt needed.
    const handed = handedOver(sleeper, wait.confirmNotices === true);
    if (handed) return handed;
  }
}

/**
 * The outcome of a lease handed over in-process while `sleeper` slept, or granted in Redis by
 * another caller's script and announced by a notice (its lease started when granted, a moment
 * before the notice arrived: the lease is counted from the arrival, as the lock does), if either.
 */
function handedOver(sleeper: GrantWaiter, confirmNotices: boolean): LeaseWaitOutcome | undefined {
  if (sleeper.handed !== undefined) {
    return { granted: true, fencingToken: sleeper.fence, sentAt: Date.now(), handed: sleeper.handed };
  }
  if (sleeper.fence > 0) {
    if (!confirmNotices) return { granted: true, fencingToken: sleeper.fence, sentAt: sleeper.grantedAt };
    // The next attempt collects the grant (and its write is waited for); until then, no grant.
    sleeper.fence = 0;
  }
  return undefined;
}

/** A lease's end by the local clock: counted from before the request, less the drift allowance. */
export function leaseEnd(sentAt: number, ttlMs: number, driftFactor: number): number {
  return sentAt + ttlMs - Math.floor(ttlMs * driftFactor) - 2;
}

/**
 * The lease and the longest wait of one call: its own options where given (validated, naming them),
 * else the primitive's, else the LockModule's.
 */
export function leaseTimings(
  options: { ttlMs?: number; maxWaitMs?: number },
  defaults: { ttlMs: number; maxWaitMs: number },
): { ttlMs: number; maxWaitMs: number } {
  return {
    ttlMs: options.ttlMs === undefined ? defaults.ttlMs : checkMilliseconds('ttlMs', options.ttlMs),
    maxWaitMs:
      options.maxWaitMs === undefined
        ? defaults.maxWaitMs
        : checkMilliseconds('maxWaitMs', options.maxWaitMs, true),
  };
}
