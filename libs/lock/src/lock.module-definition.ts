import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import { getRedisConnectionToken, type RedisConnection } from '@redkit/redis';

import { FencedStore } from './fenced.store.js';
import { LockService } from './lock.service.js';
import type { LockModuleExtras, LockModuleOptions } from './lock-options.interface.js';

/** Injection token of the options given to `LockModule.forRoot`. */
export const LOCK_MODULE_OPTIONS = 'REDKIT:LOCK:MODULE_OPTIONS';

export const {
  ConfigurableModuleClass: LockConfigurableModule,
  OPTIONS_TYPE: LOCK_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: LOCK_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LockModuleOptions>({
  moduleName: 'Lock',
  optionsInjectionToken: LOCK_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<LockModuleExtras>(
    { isGlobal: true, connection: 'default' },
    (definition, extras): DynamicModule => {
      // Connections are module-level settings so that their tokens are declared dependencies: the
      // service is built only once every connection is open.
      const names = extras.connections?.length ? extras.connections : [extras.connection];
      const service: Provider = {
        provide: LockService,
        useFactory: (options: LockModuleOptions, ...rest: unknown[]) => {
          const connections = rest.slice(0, names.length) as RedisConnection[];
          const metrics = rest[names.length] as MetricsService | undefined;
          return new LockService(connections, options, metrics);
        },
        inject: [
          LOCK_MODULE_OPTIONS,
          ...names.map((name) => getRedisConnectionToken(name)),
          { token: MetricsService, optional: true },
        ],
      };
      // Fenced writes go to the data's Redis: the `connection` one, also in Redlock mode. Built after
      // the service, so that a bad option fails startup naming itself before a connection is used.
      const fenced: Provider = {
        provide: FencedStore,
        useFactory: (
          _service: LockService,
          connection: RedisConnection,
          options: LockModuleOptions,
          metrics: MetricsService | undefined,
        ) => new FencedStore(connection, { durability: options.durability }, metrics),
        inject: [
          LockService,
          getRedisConnectionToken(extras.connection),
          LOCK_MODULE_OPTIONS,
          { token: MetricsService, optional: true },
        ],
      };
      return {
        ...definition,
        global: extras.isGlobal,
        providers: [...(definition.providers ?? []), service, fenced],
      };
    },
  )
  .build();
