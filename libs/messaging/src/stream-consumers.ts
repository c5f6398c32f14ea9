import type { BeforeApplicationShutdown } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import type { MessagingMetrics } from './messaging.metrics.js';
import type { StreamConsumerDefaults } from './messaging-options.interface.js';
import {
  PartitionedStreamConsumer,
  type PartitionedStreamConsumerOptions,
} from './partitioned-stream-consumer.js';
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
  private readonly partitioned = new Set<PartitionedStreamConsumer<unknown>>();

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

  /** Creates and starts a member of a partitioned stream's group; see {@link PartitionedStreamConsumer}. */
  async startPartitioned<T>(
    options: PartitionedStreamConsumerOptions<T>,
  ): Promise<PartitionedStreamConsumer<T>> {
    const consumer = new PartitionedStreamConsumer<T>(this.connection, options, {
      defaults: this.defaults,
      metrics: this.metrics,
    });
    await consumer.start();
    this.partitioned.add(consumer as unknown as PartitionedStreamConsumer<unknown>);
    return consumer;
  }

  /** The members of partitioned streams started here and not yet stopped. */
  listPartitioned(): PartitionedStreamConsumer[] {
    return [...this.partitioned];
  }

  /** The consumers started here and not yet stopped. */
  list(): StreamConsumer[] {
    return [...this.consumers];
  }

  /** Stops every consumer gracefully, in parallel. */
  async stopAll(): Promise<void> {
    const consumers = [...this.consumers, ...this.partitioned];
    this.consumers.clear();
    this.partitioned.clear();
    await Promise.all(consumers.map((consumer) => consumer.stop()));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stopAll();
  }
}
