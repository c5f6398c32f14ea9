import { CACHEABLE_METADATA } from './cache.constants.js';
import { installCacheRoute } from './cache-route.js';

/**
 * Tags of an entry: a list of strings (each may be a key template such as `'book:{0}'`), or a
 * function of the call's arguments.
 */
export type CacheTags<A extends unknown[] = unknown[]> =
  readonly string[] | ((...args: A) => readonly string[]);

/**
 * How a decorated method's result is keyed and stored. `A` is the method's argument list (for a
 * controller handler, `[CacheRequestArguments]`), `R` what the method resolves to.
 *
 * The key is, in order of preference: `key`, a template filled in from the arguments (`'order:{0}'`,
 * `'book:{0.symbol}:{1}'`); `keyFn`, a function of the arguments; or by default
 * `<ClassName>.<method>:` followed by the arguments encoded so that equal arguments (whatever the
 * order of their object keys) give equal keys, hashed when long.
 */
export interface CacheKeyedOptions<A extends unknown[] = unknown[], R = unknown> {
  /** Key template, compiled once per method; `{<index>}` or `{<index>.<property>...}` per argument. */
  key?: string;
  /** Key as a function of the arguments; give `key` or `keyFn`, not both. */
  keyFn?: (...args: A) => string;
  /** Freshness of the stored entry. Default: the namespace's `ttlMs`. */
  ttlMs?: number;
  /** How long L1 keeps it (at most `ttlMs`). Default: the namespace's `l1TtlMs`. */
  l1TtlMs?: number;
  /** How long after `ttlMs` it may be served stale while it is refreshed. Default: the namespace's. */
  graceMs?: number;
  /** Tags to store the entry with, for `CacheService.deleteByTag` and `@CacheEvict({ tags })`. */
  tags?: CacheTags<A>;
  /** Namespace configured in `CacheModule` (`namespaces`). Default: the default namespace. */
  namespace?: string;
  /** Returning false leaves the cache out of this call entirely: the method runs, nothing is read or stored. */
  condition?: (...args: A) => boolean;
  /** Returning true keeps this result out of the cache; it is still returned. */
  unless?: (result: R, ...args: A) => boolean;
}

/** Options of {@link Cacheable}. */
export type CacheableOptions<A extends unknown[] = unknown[], R = unknown> = CacheKeyedOptions<A, R>;

/**
 * Caches the method's result: a call whose key is cached returns the cached value without running
 * the method; a miss runs it once however many callers ask at once (`CacheService.getOrSet`), stores
 * the result and returns it. Grace, stale-on-error and loader timeouts work as in `getOrSet`.
 *
 * Applies to methods of singleton providers (the method on the instance is replaced at module init,
 * and then returns a Promise even when it was synchronous) and to controller handlers (a wrapper on
 * the prototype that Nest calls with the request: see cache-route.ts; their key sees
 * `{ params, query, body }`).
 * `undefined` results are never stored, `null` only with the namespace's `cacheNull`.
 *
 * @example
 * @Cacheable({ key: 'book:{0}:{1}', ttlMs: 1_000, tags: ['books', 'book:{0}'] })
 * async book(symbol: string, depth: number): Promise<OrderBook> { ... }
 */
export function Cacheable<A extends unknown[] = unknown[], R = unknown>(
  options: CacheableOptions<A, R> = {},
): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    installCacheRoute(target, propertyKey, descriptor as TypedPropertyDescriptor<unknown>);
    Reflect.defineMetadata(CACHEABLE_METADATA, { ...options }, descriptor.value as object);
    return descriptor;
  };
}
