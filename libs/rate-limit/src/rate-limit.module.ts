import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { RateLimitDecoratorsValidator } from './rate-limit-decorators.validator.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimitConfigurableModule, RATE_LIMIT_OPTIONS_TYPE } from './rate-limit.module-definition.js';
import { RateLimiterService } from './rate-limiter.service.js';

/**
 * Sliding-window rate limits in Redis. Needs `RedisModule` (the connection named by the
 * `connection` extra, default `default`); uses `MetricsModule` when the app has it. Provides
 * `RateLimiterService` and `RateLimitGuard`; register the guard app-wide with
 * `{ provide: APP_GUARD, useClass: RateLimitGuard }` or per controller with `@UseGuards`.
 *
 * @example
 * imports: [RedisModule.forRoot({ url }), RateLimitModule.forRoot({ limits: [{ limit: 100, windowMs: 60_000 }] })]
 */
@Module({
  imports: [DiscoveryModule],
  providers: [RateLimitGuard, RateLimitDecoratorsValidator],
  exports: [RateLimiterService, RateLimitGuard],
})
export class RateLimitModule extends RateLimitConfigurableModule {
  /** Every option has a default, so `forRoot()` alone is enough. */
  static override forRoot(options: typeof RATE_LIMIT_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
