import type { ExecutionContext } from '@nestjs/common';
import type { DurabilityOptions } from '@redkit/redis';

/**
 * `sliding-log`: exact, a sorted set of admissions per key (memory grows with `limit`).
 * `sliding-counter`: O(1) memory, two fixed windows weighted by overlap (see the README's bound).
 */
export type RateLimitAlgorithm = 'sliding-log' | 'sliding-counter';

/** What to do with a request when Redis cannot answer: let it through, or refuse it. */
export type RedisErrorPolicy = 'open' | 'closed';

/** One limit: at most `limit` units of cost in any window of `windowMs`. */
export interface RateLimitRule {
  /**
   * Names the limit's state (limits of one identity with equal names share it) and its metrics
   * label and header policy name. 1-64 of `A-Z a-z 0-9 _ - .`. Default `<algorithm>-<windowMs>`.
   */
  name?: string;
  /** Units allowed per window; a whole number from 1. */
  limit: number;
  /** Window length in milliseconds; a whole number from 1. */
  windowMs: number;
  /** Units one request uses; a whole number from 1 up to `limit`. Default 1. */
  cost?: number;
  /** Default: the module's `algorithm`, else `sliding-log`. */
  algorithm?: RateLimitAlgorithm;
  /** When Redis cannot answer. Default: the module's `onRedisError`, else `open`. */
  onRedisError?: RedisErrorPolicy;
}

/** How `RateLimitGuard` finds the client a limit applies to. */
export type RateLimitKey = 'ip' | 'user' | ((context: ExecutionContext) => string | Promise<string>);

/** A limit as `@RateLimit` and the module's global `limits` declare it. */
export interface RateLimitOptions extends RateLimitRule {
  /**
   * `ip` (default): the client address (see `trustProxy`); `user`: `request.user.id` (or `.sub`),
   * falling back to the address for anonymous requests; or a function of the execution context.
   */
  key?: RateLimitKey;
}

/** Header forms `RateLimitGuard` writes; any combination. */
export type RateLimitHeaderForm =
  /** IETF draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` and `RateLimit` (structured fields). */
  | 'ietf'
  /** Older drafts: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds). */
  | 'ratelimit-legacy'
  /** De-facto `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds). */
  | 'x-ratelimit';

/**
 * Which proxies may set `X-Forwarded-For`. `false` (default): ignore the header, use the socket
 * address. `true`: trust every hop, use the left-most address. A number n: n proxies in front of the
 * app, use the n-th address from the right. A list of proxy addresses: walk from the right past them
 * and use the first address not on the list.
 */
export type TrustProxy = boolean | number | readonly string[];

/** In-memory limits used by each instance while Redis cannot answer. */
export interface RateLimitInsuranceOptions {
  /** Share of each limit one instance allows on its own, e.g. 1/4 with 4 instances. Default 1. */
  share?: number;
  /** Most keys held; least recently used ones go first. Default 10000. */
  maxKeys?: number;
}

/** Options of `RateLimitModule.forRoot`. */
export interface RateLimitModuleOptions {
  /** Limits the guard applies to every route (before class and method limits). Default none. */
  limits?: RateLimitOptions[];
  /** Algorithm of limits that name none. Default `sliding-log`. */
  algorithm?: RateLimitAlgorithm;
  /** Redis-error policy of limits that name none. Default `open`. */
  onRedisError?: RedisErrorPolicy;
  /** An in-memory limiter per instance that decides while Redis cannot answer. Default off. */
  insurance?: boolean | RateLimitInsuranceOptions;
  /** Header forms on every answer. Default `['ietf']`; `[]` for none. */
  headers?: RateLimitHeaderForm[];
  /** Whom to believe about the client address. Default `false`. */
  trustProxy?: TrustProxy;
  /** Message of the 429 body. Default `Too Many Requests`. */
  message?: string;
  /** Longest identity in UTF-8 bytes; longer ones are replaced by their SHA-256. Default 128. */
  maxIdentifierBytes?: number;
  /**
   * Send the checks of one event-loop turn to Redis as one script call (standalone servers; see the
   * README, "Batching"). Default true.
   */
  coalesce?: boolean;
  /**
   * After Redis refuses a client, this instance refuses the same check on its own, without a round
   * trip, for at most this long (and never past the refusal's own retry time): a client flooding
   * past its limit then costs Redis one call per instance per this interval. Exact: Redis would
   * refuse those requests too. A `reset()` made on another instance may go unnoticed here for this
   * long, and a remembered refusal still stands while Redis is unreachable (it is not a guess).
   * Default 0: Redis decides every request; 1000 is a good value for a public API.
   */
  localRefusalMs?: number;
  /**
   * Durable mode, for limits that must hold across a failover: every check that admits a request is
   * followed by `WAIT replicas timeoutMs` on the same connection, and counts only once that many
   * replicas acknowledged it. An admission not acknowledged in time is decided as when Redis cannot
   * answer (`insurance`, else `onRedisError`), and counted in `redkit_ratelimit_durability_total`.
   * Refusals write nothing and need no acknowledgement. See the README, "Durability across
   * failover". Default off.
   */
  durability?: DurabilityOptions;
}

/** Module-level settings (Nest "extras"), given beside the options or beside `useFactory`. */
export interface RateLimitModuleExtras {
  /** Register the providers globally. Default true. */
  isGlobal: boolean;
  /** The RedisModule connection to use (its `name`). Default `default`. */
  connection: string;
}
