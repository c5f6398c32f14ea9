import type { BeforeApplicationShutdown } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import type { MessagingMetrics } from './messaging.metrics.js';
import type { StreamConsumerDefaults } from './messaging-options.interface.js';
import { StreamConsumer, type StreamConsumerOptions } from './stream-consumer.js';

/**
 * Starts stream consumers with the module's defaults and metrics, and stops them all gracefully
 * before the application's connections close.
 *
 * @example
 * await consumers.start({ stream: 'orders', group: 'billing', handler: (message) => bill(message.data) });
 */
export class StreamConsumers implements BeforeApplicationShutdown {
  private readonly consumers = new Set<StreamConsumer<unknown>>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly defaults: StreamConsumerDefaults,
    private readonly metrics: MessagingMetrics,
  ) {}

  /** Creates and starts a consumer; see {@link StreamConsumer}. */
  async start<T>(options: StreamConsumerOptions<T>): Promise<StreamConsumer<T>> {
    const consumer = new StreamConsumer<T>(this.connection, options, {
      defaults: this.defaults,
      metrics: this.metrics,
    });
    await consumer.start();
    this.consumers.add(consumer as unknown as StreamConsumer<unknown>);
    return consumer;
  }

  /** The consumers started here and not yet stopped. */
  list(): StreamConsumer[] {
    return [...this.consumers];
  }

  /** Stops every consumer gracefully, in parallel. */
  async stopAll(): Promise<void> {
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.all(consumers.map((consumer) => consumer.stop()));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stopAll();
  }
}
