import { LRUCache } from 'lru-cache';

import type { RateLimitPolicy } from './rate-limit-options.validator.js';

/** One limit's state: a fixed window index and the counts of it and the one before. */
interface CounterState {
  index: number;
  current: number;
  previous: number;
}

/** What the in-memory limiter decided for one limit. */
export interface LocalLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

/**
 * The insurance limiter: a sliding-window counter per key in this process's memory, used only while
 * Redis cannot answer. Each instance counts on its own, so with N instances up to N × `share` ×
 * `limit` get through per window; it bounds an outage's damage, it does not replace Redis. Like the
 * Redis check, a request refused by any limit charges none.
 */
export class InMemoryRateLimiter {
  private readonly states: LRUCache<string, CounterState>;

  constructor(
    private readonly share: number,
    maxKeys: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.states = new LRUCache({ max: maxKeys });
  }

  /** Checks every (key, policy) pair and charges all of them only when all allow. */
  check(keys: readonly string[], policies: readonly RateLimitPolicy[], consume = true): LocalLimitResult[] {
    const now = this.clock();
    const results: LocalLimitResult[] = [];
    const states: CounterState[] = [];
    let allowed = true;
    for (let index = 0; index < policies.length; index += 1) {
      const policy = policies[index] as RateLimitPolicy;
      const limit = Math.max(1, Math.floor(policy.limit * this.share));
      const window = policy.windowMs;
      const fixed = Math.floor(now / window);
      const key = keys[index] as string;
      let state = this.states.get(key);
      if (state === undefined || state.index < fixed - 1) state = { index: fixed, current: 0, previous: 0 };
      else if (state.index === fixed - 1) state = { index: fixed, current: 0, previous: state.current };
      const fraction = (now - fixed * window) / window;
      const estimate = state.previous * (1 - fraction) + state.current;
      const cost = Math.min(policy.cost, limit);
      const ok = estimate + cost <= limit;
      let retryAfterMs = 0;
      if (!ok) {
        retryAfterMs =
          state.current + cost <= limit
            ? (1 - (limit - state.current - cost) / state.previous) * window + fixed * window - now
            : (fixed + 1) * window + (1 - (limit - cost) / state.current) * window - now;
        allowed = false;
      }
      states.push(state);
      results.push({
        allowed: ok,
        limit,
        remaining: Math.max(0, Math.floor(limit - estimate)),
        resetMs: state.current > 0 ? (fixed + 2) * window - now : 0,
        retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)),
      });
      if (ok) (results[index] as LocalLimitResult).retryAfterMs = 0;
    }
    for (let index = 0; index < policies.length; index += 1) {
      const result = results[index] as LocalLimitResult;
      const state = states[index] as CounterState;
      if (allowed && consume) {
        const cost = Math.min((policies[index] as RateLimitPolicy).cost, result.limit);
        state.current += cost;
        result.remaining = Math.max(0, result.remaining - cost);
        result.resetMs = (state.index + 2) * (policies[index] as RateLimitPolicy).windowMs - now;
      }
      this.states.set(keys[index] as string, state);
    }
    return results;
  }

  /** Forgets every key that starts with `prefix`. */
  forget(prefix: string): void {
    for (const key of this.states.keys()) if (key.startsWith(prefix)) this.states.delete(key);
  }
}
