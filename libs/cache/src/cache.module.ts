import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { CacheDecoratorsExplorer } from './cache-decorators.explorer.js';
import { CacheConfigurableModule, CACHE_OPTIONS_TYPE } from './cache.module-definition.js';
import { CacheService } from './cache.service.js';

/**
 * The two-level cache. Needs `RedisModule` (the connection named by the `connection` extra,
 * default `default`, given beside the options or beside `useFactory`); uses `MetricsModule` when
 * the app has it. `CacheService` is provided by the definition in cache.module-definition.ts.
 *
 * @example
 * imports: [RedisModule.forRoot({ url }), CacheModule.forRoot({ ttlMs: 30_000, graceMs: 300_000 })]
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    // @Cacheable, @CachePut and @CacheEvict: on provider methods by wrapping the instance's method, on
    // routes by the prototype wrapper each decorator installs (which finds the explorer of its app).
    CacheDecoratorsExplorer,
  ],
  exports: [CacheService, CacheDecoratorsExplorer],
})
export class CacheModule extends CacheConfigurableModule {
  /** Every option has a default, so `forRoot()` alone is enough. */
  static override forRoot(options: typeof CACHE_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
