export { CacheModule } from './cache.module.js';
export { CACHE_MODULE_OPTIONS } from './cache.module-definition.js';
export { CacheService } from './cache.service.js';
export {
  Cacheable,
  type CacheableOptions,
  type CacheKeyedOptions,
  type CacheTags,
} from './cacheable.decorator.js';
export { CachePut, type CachePutOptions } from './cache-put.decorator.js';
export { CacheEvict, type CacheEvictOptions } from './cache-evict.decorator.js';
export { CACHEABLE_METADATA, CACHE_EVICT_METADATA, CACHE_PUT_METADATA } from './cache.constants.js';
export { CacheDecoratorsExplorer, type CacheOperations } from './cache-decorators.explorer.js';
export type { CacheRequestArguments } from './cache-route.js';
export type {
  CacheGetOrSetOptions,
  CacheInvalidationMode,
  CacheL2Reads,
  CacheModuleExtras,
  CacheLoader,
  CacheModuleOptions,
  CacheNamespaceOptions,
  CacheSetOptions,
} from './cache-options.interface.js';
export type { CacheSerializer } from './cache-serializer.interface.js';
export { RichJsonSerializer, richJsonSerializer } from './rich-json.serializer.js';
export {
  CacheDecoratorError,
  CacheError,
  CacheLoaderError,
  CacheLoaderTimeoutError,
  CacheOptionsError,
  CacheValueTooLargeError,
} from './cache.errors.js';
export { cacheAclManifest } from './cache.acl.js';
