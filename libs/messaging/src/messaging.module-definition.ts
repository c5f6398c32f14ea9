import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import { getRedisConnectionToken, REDIS_DEFAULTS, type RedisConnection } from '@redkit/redis';

import { EventBus } from './event-bus.js';
import { IdempotencyStore } from './idempotency.store.js';
import { MessagingMetrics } from './messaging.metrics.js';
import type { MessagingModuleExtras, MessagingModuleOptions } from './messaging-options.interface.js';
import { resolveMessagingOptions, type ResolvedMessagingOptions } from './messaging-options.validator.js';
import { StreamConsumers } from './stream-consumers.js';
import { StreamInspector } from './stream-inspector.js';
import { StreamProducer } from './stream-producer.js';

/** Injection token of the options given to `MessagingModule.forRoot`. */
export const MESSAGING_MODULE_OPTIONS = 'REDKIT:MESSAGING:MODULE_OPTIONS';
/** @internal The options once validated, shared by the module's providers. */
const RESOLVED_OPTIONS = 'REDKIT:MESSAGING:RESOLVED_OPTIONS';

export const {
  ConfigurableModuleClass: MessagingConfigurableModule,
  OPTIONS_TYPE: MESSAGING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MESSAGING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MessagingModuleOptions>({
  moduleName: 'Messaging',
  optionsInjectionToken: MESSAGING_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<MessagingModuleExtras>(
    { isGlobal: true, connection: 'default' },
    (definition, extras): DynamicModule => {
      const connection = getRedisConnectionToken(extras.connection);
      const providers: Provider[] = [
        {
          provide: RESOLVED_OPTIONS,
          // The connection's commandTimeoutMs bounds durability.timeoutMs.
          useFactory: (options: MessagingModuleOptions | undefined, redis: RedisConnection) =>
            resolveMessagingOptions(
              options ?? {},
              redis.options?.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
            ),
          inject: [MESSAGING_MODULE_OPTIONS, connection],
        },
        {
          provide: MessagingMetrics,
          useFactory: (metrics?: MetricsService) => new MessagingMetrics(metrics ?? new MetricsService()),
          inject: [{ token: MetricsService, optional: true }],
        },
        {
          provide: EventBus,
          useFactory: (
            options: ResolvedMessagingOptions,
            redis: RedisConnection,
            metrics: MessagingMetrics,
          ) => new EventBus(redis, options, metrics),
          inject: [RESOLVED_OPTIONS, connection, MessagingMetrics],
        },
        {
          provide: StreamProducer,
          useFactory: (
            options: ResolvedMessagingOptions,
            redis: RedisConnection,
            metrics: MessagingMetrics,
          ) => new StreamProducer(redis, options, metrics),
          inject: [RESOLVED_OPTIONS, connection, MessagingMetrics],
        },
        {
          provide: StreamConsumers,
          useFactory: (
            options: ResolvedMessagingOptions,
            redis: RedisConnection,
            metrics: MessagingMetrics,
          ) => new StreamConsumers(redis, options.consumers, metrics),
          inject: [RESOLVED_OPTIONS, connection, MessagingMetrics],
        },
        {
          provide: StreamInspector,
          useFactory: (redis: RedisConnection) => new StreamInspector(redis),
          inject: [connection],
        },
        {
          provide: IdempotencyStore,
          useFactory: (redis: RedisConnection) => new IdempotencyStore(redis),
          inject: [connection],
        },
      ];
      return {
        ...definition,
        global: extras.isGlobal,
        providers: [...(definition.providers ?? []), ...providers],
      };
    },
  )
  .build();
