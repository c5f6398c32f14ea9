import { POLL_WHILE_DISCONNECTED_METADATA } from './messaging.constants.js';

/** Options of `@PollWhileDisconnected`. */
export interface PollWhileDisconnectedDecoratorOptions {
  /** Time between polls while the event bus is down (10 ms to 1 day). */
  everyMs: number;
  /** How far each window reaches back before the previous one's end (see `EventBus.pollWhileDisconnected`). Default 1000. */
  overlapMs?: number;
  /** Poll only on the instance that leads the app's election (see `@OnEvent`'s `leaderOnly`). Default false. */
  leaderOnly?: boolean;
}

/**
 * The polling fallback of a singleton provider's event handlers: while the event bus is disconnected
 * the method runs every `everyMs` with the {@link MissedWindow} not covered yet, and once more when
 * the bus listens again (`final`), to find in the source of truth the work whose events were missed.
 * See `EventBus.pollWhileDisconnected`.
 *
 * @example
 * @OnEvent('order.placed', { leaderOnly: true })
 * onOrder(event: EventEnvelope<{ id: string }>) { return this.orders.match(event.data.id); }
 *
 * @PollWhileDisconnected({ everyMs: 1_000, leaderOnly: true })
 * async catchUp({ from, to }: MissedWindow) {
 *   for (const id of await this.orders.placedBetween(from, to)) await this.orders.match(id);
 * }
 */
export function PollWhileDisconnected(options: PollWhileDisconnectedDecoratorOptions): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(POLL_WHILE_DISCONNECTED_METADATA, options, descriptor.value as object);
    return descriptor;
  };
}
