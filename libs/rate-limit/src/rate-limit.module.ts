import { Module } from '@nestjs/common';

import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimitConfigurableModule } from './rate-limit.module-definition.js';
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
  providers: [RateLimitGuard],
  exports: [RateLimiterService, RateLimitGuard],
})
export class RateLimitModule extends RateLimitConfigurableModule {}
