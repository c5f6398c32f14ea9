import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { FencedStore } from './fenced.store.js';
import { LockDecoratorsExplorer } from './lock-decorators.explorer.js';
import { LockConfigurableModule, LOCK_OPTIONS_TYPE } from './lock.module-definition.js';
import { LockService } from './lock.service.js';

/**
 * Distributed locks, and `FencedStore` for writes only the current holder can make. Needs `RedisModule` (the connection named by the `connection` extra, default
 * `default`, or several named by `connections` for Redlock mode); uses `MetricsModule` when present.
 *
 * @example
 * imports: [RedisModule.forRoot({ url }), LockModule.forRoot({ ttlMs: 10_000 })]
 * // Redlock over three independent servers:
 * LockModule.forRoot({ ttlMs: 10_000, connections: ['lock-a', 'lock-b', 'lock-c'] })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [LockDecoratorsExplorer],
  exports: [LockService, FencedStore],
})
export class LockModule extends LockConfigurableModule {
  /** Every option has a default, so `forRoot()` alone is enough. */
  static override forRoot(options: typeof LOCK_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
