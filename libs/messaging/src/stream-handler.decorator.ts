import { STREAM_HANDLER_METADATA } from './messaging.constants.js';
import type { StreamConsumerDefaults } from './messaging-options.interface.js';

/** What `@StreamHandler` records. */
export interface StreamHandlerMetadata {
  stream: string;
  group: string;
  options: StreamConsumerDefaults & { consumer?: string };
}

/**
 * Runs a consumer of `group` on `stream` for the decorated method of a singleton provider, from
 * application start to shutdown (graceful: in-flight entries are finished and acknowledged). The
 * method receives a {@link StreamMessage}; resolving acknowledges it, throwing retries it up to
 * `maxDeliveries` and then dead-letters it.
 *
 * @example
 * @StreamHandler('orders', 'billing', { concurrency: 8 })
 * async bill(message: StreamMessage<OrderPlaced>) { ... }
 */
export function StreamHandler(
  stream: string,
  group: string,
  options: StreamConsumerDefaults & { consumer?: string } = {},
): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const handlers = (Reflect.getOwnMetadata(STREAM_HANDLER_METADATA, method) ??
      []) as StreamHandlerMetadata[];
    Reflect.defineMetadata(STREAM_HANDLER_METADATA, [...handlers, { stream, group, options }], method);
    return descriptor;
  };
}
