import type { RateLimitResult } from './rate-limiter.service.js';

/** A refusal Redis gave, remembered until it may no longer hold. */
interface Refusal {
  /** `performance.now()` until which the instance refuses without asking Redis. */
  until: number;
  /** `performance.now()` when the refused check was sent. */
  sentAt: number;
  /** The refused decision's results, as Redis gave them. */
  results: readonly RateLimitResult[];
}

/**
 * What an instance remembers of the refusals Redis just gave, so that a client hammering past its
 * limit costs no Redis round trip per request (`localRefusalMs`). A refusal is served locally until
 * `sentAt + min(retryAfterMs, localRefusalMs)`, measured from when the check was *sent*: Redis
 * decided after that, so its own retry time falls later, and no request is refused here that Redis
 * would admit. Until then Redis would refuse it too: admissions only leave a window by time, and a
 * refused check charges nothing. What the memo cannot see is a `reset()` on another instance; the
 * `localRefusalMs` bound (1 s is a good value) is how long such a reset may go unnoticed here.
 *
 * Bounded: at most `maxEntries` refusals, the oldest dropped first.
 */
export class RefusalMemo {
  private readonly entries = new Map<string, Refusal>();

  constructor(
    private readonly maxMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get enabled(): boolean {
    return this.maxMs > 0;
  }

  /** The refusal of `key` still standing at `now`, as results with their waits counted down; or undefined. */
  recall(key: string, now: number): RateLimitResult[] | undefined {
    const refusal = this.entries.get(key);
    if (refusal === undefined) return undefined;
    if (refusal.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    const elapsed = now - refusal.sentAt;
    return refusal.results.map((result) => ({
      ...result,
      allowed: false,
      retryAfterMs: result.retryAfterMs > 0 ? Math.max(1, Math.ceil(result.retryAfterMs - elapsed)) : 0,
      resetMs: Math.max(0, Math.ceil(result.resetMs - elapsed)),
    }));
  }

  /** Remembers a refusal Redis gave to a check sent at `sentAt`, waiting `retryAfterMs`. */
  remember(key: string, sentAt: number, retryAfterMs: number, results: readonly RateLimitResult[]): void {
    if (this.maxMs <= 0 || retryAfterMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { until: sentAt + Math.min(retryAfterMs, this.maxMs), sentAt, results });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Forgets every refusal whose keys include `prefix` (a reset of the identity here). */
  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.includes(prefix)) this.entries.delete(key);
  }
}
