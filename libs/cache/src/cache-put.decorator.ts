import { CACHE_PUT_METADATA } from './cache.constants.js';
import { installCacheRoute } from './cache-route.js';
import type { CacheKeyedOptions } from './cacheable.decorator.js';

/**
 * Options of {@link CachePut}: the same as `@Cacheable`'s. The key, tags and `condition` are worked
 * out after the method has run, so they may read what it filled into its arguments (an id it set).
 */
export type CachePutOptions<A extends unknown[] = unknown[], R = unknown> = CacheKeyedOptions<A, R>;

/**
 * Always runs the method, then stores its result under the key, so that a `@Cacheable` reading the
 * same key (and namespace) gets it without running. Nothing is stored when the method throws, when
 * `condition` returns false or `unless` returns true. Failing to store is logged, never thrown: the
 * method has already done its work.
 *
 * @example
 * @CachePut({ key: 'book:{0.symbol}', tags: ['books'] })
 * async saveBook(book: OrderBook): Promise<OrderBook> { ... }
 */
export function CachePut<A extends unknown[] = unknown[], R = unknown>(
  options: CachePutOptions<A, R> = {},
): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    installCacheRoute(target, propertyKey, descriptor as TypedPropertyDescriptor<unknown>);
    Reflect.defineMetadata(CACHE_PUT_METADATA, { ...options }, descriptor.value as object);
    return descriptor;
  };
}
