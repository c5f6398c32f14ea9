import type { RateLimitHeaderForm } from './rate-limit-options.interface.js';
import type { RateLimitResult } from './rate-limiter.service.js';

const seconds = (ms: number): number => Math.ceil(ms / 1_000);

/** The result closest to refusing: least remaining, then the longest reset. */
export function mostRestrictive(results: readonly RateLimitResult[]): RateLimitResult | undefined {
  let chosen: RateLimitResult | undefined;
  for (const result of results) {
    if (
      chosen === undefined ||
      result.remaining < chosen.remaining ||
      (result.remaining === chosen.remaining && result.resetMs > chosen.resetMs)
    ) {
      chosen = result;
    }
  }
  return chosen;
}

/**
 * The response headers for a decision, in the requested forms. `ietf` follows
 * draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "per-second";q=10;w=1, "per-hour";q=500;w=3600`
 * and `RateLimit: "per-second";r=3;t=1, "per-hour";r=480;t=3600` (structured-field lists, one item
 * per limit, quota and window in units and seconds). The older forms carry the most restrictive
 * limit only. `Retry-After` (seconds, at least 1) is added when `retryAfterMs` is given.
 */
export function rateLimitHeaders(
  results: readonly RateLimitResult[],
  forms: readonly RateLimitHeaderForm[],
  retryAfterMs?: number,
): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  if (results.length > 0) {
    for (const form of forms) {
      if (form === 'ietf') {
        headers.push([
          'RateLimit-Policy',
          results.map((r) => `"${r.name}";q=${r.limit};w=${seconds(r.windowMs)}`).join(', '),
        ]);
        headers.push([
          'RateLimit',
          results.map((r) => `"${r.name}";r=${r.remaining};t=${seconds(r.resetMs)}`).join(', '),
        ]);
        continue;
      }
      const chosen = mostRestrictive(results) as RateLimitResult;
      const prefix = form === 'x-ratelimit' ? 'X-RateLimit' : 'RateLimit';
      headers.push([`${prefix}-Limit`, String(chosen.limit)]);
      headers.push([`${prefix}-Remaining`, String(chosen.remaining)]);
      headers.push([`${prefix}-Reset`, String(seconds(chosen.resetMs))]);
    }
  }
  if (retryAfterMs !== undefined) headers.push(['Retry-After', String(Math.max(1, seconds(retryAfterMs)))]);
  return headers;
}
