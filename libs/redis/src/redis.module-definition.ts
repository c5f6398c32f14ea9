import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';

import { MetricsService } from '@redkit/metrics';

import { DEFAULT_REDIS_CONNECTION, getRedisConnectionToken, getRedisToken } from './redis.constants.js';
import { RedisConnection } from './redis-connection.js';
import { publishConnectionMetrics } from './redis-connection.metrics.js';
import { RedisServerMetrics } from './redis-server.metrics.js';
import { RedisOptionsError } from './redis.errors.js';
import { RedisHealthIndicator } from './redis-health.indicator.js';
import type { RedisModuleExtras, RedisModuleOptions } from './redis-options.interface.js';

/** Injection token of the options given to one `RedisModule.forRoot`, inside that module. */
export const REDIS_MODULE_OPTIONS = 'REDKIT:REDIS:MODULE_OPTIONS';

export const {
  ConfigurableModuleClass: RedisConfigurableModule,
  OPTIONS_TYPE: REDIS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: REDIS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RedisModuleOptions>({
  moduleName: 'Redis',
  optionsInjectionToken: REDIS_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<RedisModuleExtras>(
    { name: DEFAULT_REDIS_CONNECTION, isGlobal: true },
    (definition, extras): DynamicModule => {
      const { name } = extras;
      if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
        throw new RedisOptionsError('name', `must be 1-64 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(name)}`);
      }
      const connection: Provider = {
        provide: getRedisConnectionToken(name),
        useFactory: (options: RedisModuleOptions) => RedisConnection.open(name, options),
        inject: [REDIS_MODULE_OPTIONS],
      };
      const client: Provider = {
        provide: getRedisToken(name),
        useFactory: (opened: RedisConnection) => opened.client,
        inject: [getRedisConnectionToken(name)],
      };
      const metrics: Provider = {
        provide: `REDKIT:REDIS:METRICS:${name}`,
        useFactory: (opened: RedisConnection, service?: MetricsService) => {
          publishConnectionMetrics(opened, service);
          const intervalMs = opened.options.serverMetricsIntervalMs;
          if (intervalMs !== undefined && service !== undefined)
            new RedisServerMetrics(opened, service, intervalMs).start();
          return true;
        },
        inject: [getRedisConnectionToken(name), { token: MetricsService, optional: true }],
      };
      return {
        ...definition,
        global: extras.isGlobal,
        providers: [...(definition.providers ?? []), connection, client, metrics, RedisHealthIndicator],
        exports: [getRedisConnectionToken(name), getRedisToken(name), RedisHealthIndicator],
      };
    },
  )
  .build();
