import { ON_EVENT_METADATA } from './messaging.constants.js';

/** Options of one `@OnEvent`. */
export interface OnEventOptions {
  /**
   * Run the handler only on the instance that leads the app's election (the {@link LEADERSHIP}
   * provider, which `LeaderElectionModule` of @redkit/lock supplies); elsewhere the event is
   * received and ignored. Startup fails when the app has no such provider. Default false.
   */
  leaderOnly?: boolean;
}

/** What `@OnEvent` records on a method: one entry per decorator, in source order. */
export interface OnEventMetadata {
  pattern: string;
  leaderOnly: boolean;
}

/**
 * Subscribes the decorated method of a singleton provider to events matching `pattern`
 * (`trade.executed`, `market.*`) once the application has started. The method receives the
 * {@link EventEnvelope}; what it throws is logged and counted. May be repeated on one method.
 *
 * @example
 * @OnEvent('trade.executed')
 * onTrade(event: EventEnvelope<Trade>) { ... }
 *
 * @OnEvent('order.placed', { leaderOnly: true }) // one instance of the fleet reacts
 * match(event: EventEnvelope<Order>) { ... }
 */
export function OnEvent(pattern: string, options: OnEventOptions = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const entries = (Reflect.getOwnMetadata(ON_EVENT_METADATA, method) ?? []) as OnEventMetadata[];
    const entry: OnEventMetadata = { pattern, leaderOnly: options.leaderOnly ?? false };
    Reflect.defineMetadata(ON_EVENT_METADATA, [...entries, entry], method);
    return descriptor;
  };
}
