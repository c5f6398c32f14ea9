/** Method metadata written by `@Cacheable`: the options as given. */
export const CACHEABLE_METADATA = 'REDKIT:CACHE:CACHEABLE';

/** Method metadata written by `@CachePut`: the options as given. */
export const CACHE_PUT_METADATA = 'REDKIT:CACHE:CACHE_PUT';

/** Method metadata written by `@CacheEvict`: the options of every `@CacheEvict` on the method, in source order. */
export const CACHE_EVICT_METADATA = 'REDKIT:CACHE:CACHE_EVICT';
