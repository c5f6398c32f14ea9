import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { EventBus } from './event-bus.js';
import { IdempotencyStore } from './idempotency.store.js';
import { MessagingExplorer } from './messaging.explorer.js';
import { MessagingConfigurableModule, type MESSAGING_OPTIONS_TYPE } from './messaging.module-definition.js';
import { StreamConsumers } from './stream-consumers.js';
import { StreamInspector } from './stream-inspector.js';
import { StreamProducer } from './stream-producer.js';

/**
 * Events over pub/sub (`EventBus`, `@OnEvent`) and durable work over Redis Streams
 * (`StreamProducer`, `StreamConsumers`, `@StreamHandler`, `StreamInspector`, `IdempotencyStore`).
 * Needs `RedisModule` (the connection named by the `connection` extra, default `default`); uses
 * `MetricsModule` when the app has it. The providers are built in messaging.module-definition.ts.
 *
 * @example
 * imports: [RedisModule.forRoot({ url }), MessagingModule.forRoot({ consumers: { concurrency: 8 } })]
 */
@Module({
  imports: [DiscoveryModule],
  providers: [MessagingExplorer],
  exports: [EventBus, StreamProducer, StreamConsumers, StreamInspector, IdempotencyStore],
})
export class MessagingModule extends MessagingConfigurableModule {
  /** Every option has a default, so `forRoot()` alone is enough. */
  static override forRoot(options: typeof MESSAGING_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
