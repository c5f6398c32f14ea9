import { CACHE_EVICT_METADATA } from './cache.constants.js';
import { installCacheRoute } from './cache-route.js';
import type { CacheTags } from './cacheable.decorator.js';

/** Options of {@link CacheEvict}; give at least one of `keys`, `tags` and `allEntries`. */
export interface CacheEvictOptions<A extends unknown[] = unknown[]> {
  /** Keys to delete: key templates (`'book:{0}'`) or functions of the arguments. */
  keys?: ReadonlyArray<string | ((...args: A) => string)>;
  /** Tags whose entries to delete (`CacheService.deleteByTag`); templates allowed. */
  tags?: CacheTags<A>;
  /** Namespace the keys and tags belong to. Default: the default namespace. */
  namespace?: string;
  /** Delete every entry of the namespace (`CacheService.clear`); `keys` and `tags` are then moot. */
  allEntries?: boolean;
  /** Returning false skips the eviction for this call. Evaluated after the method has run. */
  condition?: (...args: A) => boolean;
}

/**
 * Runs the method and, only once it has resolved, deletes the given keys, the entries of the given
 * tags or the whole namespace, here and on every other instance. When the method throws (or rejects),
 * nothing is evicted. Keys and tags are worked out after the method has run. A failed eviction
 * (Redis unreachable) is logged, not thrown: the method has already done its work.
 *
 * Stackable: several `@CacheEvict` on one method (for instance one per namespace) all apply, and it
 * combines with `@CachePut` (evictions first, then the put). It does not combine with `@Cacheable`.
 *
 * @example
 * @CacheEvict({ keys: ['book:{0}'], tags: ['book-lists'] })
 * async deleteBook(symbol: string): Promise<void> { ... }
 */
export function CacheEvict<A extends unknown[] = unknown[]>(options: CacheEvictOptions<A>): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    installCacheRoute(target, propertyKey, descriptor as TypedPropertyDescriptor<unknown>);
    const method = descriptor.value as object;
    const earlier = (Reflect.getOwnMetadata(CACHE_EVICT_METADATA, method) ??
      []) as readonly CacheEvictOptions[];
    // Decorators apply bottom-up; putting this one first keeps the list in source order.
    Reflect.defineMetadata(CACHE_EVICT_METADATA, [{ ...options }, ...earlier], method);
    return descriptor;
  };
}
