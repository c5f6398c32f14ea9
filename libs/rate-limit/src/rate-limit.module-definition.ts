import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import { getRedisConnectionToken, type RedisConnection } from '@redkit/redis';

import { RATE_LIMIT_MODULE_OPTIONS } from './rate-limit.constants.js';
import type { RateLimitModuleExtras, RateLimitModuleOptions } from './rate-limit-options.interface.js';
import { RateLimiterService } from './rate-limiter.service.js';

export const {
  ConfigurableModuleClass: RateLimitConfigurableModule,
  OPTIONS_TYPE: RATE_LIMIT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: RATE_LIMIT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RateLimitModuleOptions>({
  moduleName: 'RateLimit',
  optionsInjectionToken: RATE_LIMIT_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<RateLimitModuleExtras>(
    { isGlobal: true, connection: 'default' },
    (definition, extras): DynamicModule => {
      // The connection is a module-level setting so that its token is a declared dependency.
      const service: Provider = {
        provide: RateLimiterService,
        useFactory: (
          options: RateLimitModuleOptions,
          connection: RedisConnection,
          metrics?: MetricsService,
        ) => new RateLimiterService(connection, options, metrics),
        inject: [
          RATE_LIMIT_MODULE_OPTIONS,
          getRedisConnectionToken(extras.connection),
          { token: MetricsService, optional: true },
        ],
      };
      return {
        ...definition,
        global: extras.isGlobal,
        providers: [...(definition.providers ?? []), service],
      };
    },
  )
  .build();
