import { ConfigurableModuleBuilder } from '@nestjs/common';
import { connectedServiceExtras } from '@redkit/redis';

import { CacheService } from './cache.service.js';
import type { CacheModuleExtras, CacheModuleOptions } from './cache-options.interface.js';

/** Injection token of the options given to `CacheModule.forRoot`. */
export const CACHE_MODULE_OPTIONS = 'REDKIT:CACHE:MODULE_OPTIONS';

export const {
  ConfigurableModuleClass: CacheConfigurableModule,
  OPTIONS_TYPE: CACHE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: CACHE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CacheModuleOptions>({
  moduleName: 'Cache',
  optionsInjectionToken: CACHE_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<CacheModuleExtras>(
    { isGlobal: true, connection: 'default' },
    connectedServiceExtras(CacheService, CACHE_MODULE_OPTIONS),
  )
  .build();
