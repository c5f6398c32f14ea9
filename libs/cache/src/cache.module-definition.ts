import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import { getRedisConnectionToken, type RedisConnection } from '@redkit/redis';

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
    (definition, extras): DynamicModule => {
      // The connection is a module-level setting so that its token is a declared dependency: the
      // cache is built only once that connection is open.
      const service: Provider = {
        provide: CacheService,
        useFactory: (options: CacheModuleOptions, connection: RedisConnection, metrics?: MetricsService) =>
          new CacheService(connection, options, metrics),
        inject: [
          CACHE_MODULE_OPTIONS,
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
