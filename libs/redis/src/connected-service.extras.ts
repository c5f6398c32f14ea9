import type { DynamicModule } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';

import { getRedisConnectionToken } from './redis.constants.js';
import type { RedisConnection } from './redis-connection.js';

/** The extras of a lib module whose service runs on one named Redis connection. */
export interface ConnectedServiceExtras {
  isGlobal: boolean;
  connection: string;
}

/**
 * The `setExtras` callback of a lib module (cache, rate-limit, order book) whose one service is built
 * from the module's options, a named Redis connection and the app's MetricsService if there is one.
 * The connection is a module-level setting so that its token is a declared dependency: the service
 * is built only once that connection is open.
 *
 * @example
 * new ConfigurableModuleBuilder<CacheModuleOptions>({ optionsInjectionToken: CACHE_MODULE_OPTIONS })
 *   .setExtras({ isGlobal: true, connection: 'default' }, connectedServiceExtras(CacheService, CACHE_MODULE_OPTIONS))
 */
export function connectedServiceExtras<TOptions, TService>(
  service: new (connection: RedisConnection, options: TOptions, metrics?: MetricsService) => TService,
  optionsToken: string,
): (definition: DynamicModule, extras: ConnectedServiceExtras) => DynamicModule {
  return (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers: [
      ...(definition.providers ?? []),
      {
        provide: service,
        useFactory: (options: TOptions, connection: RedisConnection, metrics?: MetricsService) =>
          new service(connection, options, metrics),
        inject: [
          optionsToken,
          getRedisConnectionToken(extras.connection),
          { token: MetricsService, optional: true },
        ],
      },
    ],
  });
}
