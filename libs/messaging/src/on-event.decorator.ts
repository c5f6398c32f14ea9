import { ON_EVENT_METADATA } from './messaging.constants.js';

/**
 * Subscribes the decorated method of a singleton provider to events matching `pattern`
 * (`trade.executed`, `market.*`) once the application has started. The method receives the
 * {@link EventEnvelope}; what it throws is logged and counted. May be repeated on one method.
 *
 * @example
 * @OnEvent('trade.executed')
 * onTrade(event: EventEnvelope<Trade>) { ... }
 */
export function OnEvent(pattern: string): MethodDecorator {
  return (target, _key, descriptor) => {
    const method = descriptor.value as object;
    const patterns = (Reflect.getOwnMetadata(ON_EVENT_METADATA, method) ?? []) as string[];
    Reflect.defineMetadata(ON_EVENT_METADATA, [...patterns, pattern], method);
    void target;
    return descriptor;
  };
}
