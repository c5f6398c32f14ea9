import { ConfigurableModuleBuilder } from '@nestjs/common';
import { connectedServiceExtras } from '@redkit/redis';

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
    connectedServiceExtras(RateLimiterService, RATE_LIMIT_MODULE_OPTIONS),
  )
  .build();
