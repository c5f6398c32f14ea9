import { STREAM_HANDLER_METADATA } from './messaging.constants.js';
import type { PartitionLeaseOptions, StreamConsumerDefaults } from './messaging-options.interface.js';
import type { PartitionedStream } from './partitioned-stream.js';

/** Settings `@StreamHandler` takes: the consumer's, plus the leases' for a partitioned stream. */
export type StreamHandlerOptions = StreamConsumerDefaults & PartitionLeaseOptions & { consumer?: string };

/** What `@StreamHandler` records. */
export interface StreamHandlerMetadata {
  stream: string | PartitionedStream;
  group: string;
  options: StreamHandlerOptions;
}

/**
 * Runs a consumer of `group` on `stream` for the decorated method of a singleton provider, from
 * application start to shutdown (graceful: in-flight entries are finished and acknowledged). The
 * method receives a {@link StreamMessage}; resolving acknowledges it, throwing retries it up to
 * `maxDeliveries` and then dead-letters it. On a {@link PartitionedStream} `{ name, partitions }` the
 * instance is one member of the group, consuming its share of the partitions one entry at a time
 * (see `PartitionedStreamConsumer`); `leaseMs` and `heartbeatMs` apply to it only.
 *
 * @example
 * @StreamHandler('orders', 'billing', { concurrency: 8 })
 * async bill(message: StreamMessage<OrderPlaced>) { ... }
 *
 * @StreamHandler({ name: 'payments', partitions: 12 }, 'ledger')
 * async book(message: StreamMessage<Payment>) { ... } // in order per partition key
 */
export function StreamHandler(
  stream: string | PartitionedStream,
  group: string,
  options: StreamHandlerOptions = {},
): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const handlers = (Reflect.getOwnMetadata(STREAM_HANDLER_METADATA, method) ??
      []) as StreamHandlerMetadata[];
    Reflect.defineMetadata(STREAM_HANDLER_METADATA, [...handlers, { stream, group, options }], method);
    return descriptor;
  };
}
