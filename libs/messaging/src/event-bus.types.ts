/**
 * What travels on the event bus: one JSON object per event (with `traceparent` and `tracestate`
 * while the publisher is traced).
 *
 * @example
 * { "id": "8c1f…", "type": "trade.executed", "time": "2026-11-23T12:00:00.000Z",
 *   "correlationId": "8c1f…", "source": "api-1:4242", "data": { "symbol": "BTC-USD" } }
 */
export interface EventEnvelope<T = unknown> {
  /** A random UUID, unique per publish. */
  id: string;
  /** Dot-separated event type, such as `trade.executed`; also the end of the channel name. */
  type: string;
  /** When it was published, ISO 8601 (publisher's clock). */
  time: string;
  /**
   * Ties related events together: the one given to `publish`, else the publisher's current
   * correlation id (the HTTP request's, the handled message's), else the event's own id.
   */
  correlationId: string;
  /** Who published it (`MessagingModule` option `source`). */
  source: string;
  /** The publisher's W3C trace context, written while it was traced: the parent of the receivers' spans. */
  traceparent?: string;
  /** Vendor trace state beside {@link traceparent}, when the publisher's trace had one. */
  tracestate?: string;
  data: T;
}

/** Receives events; may be async. What it throws or rejects is logged and counted, never propagated. */
export type EventHandler<T = unknown> = (event: EventEnvelope<T>) => unknown;

/** Options of one `EventBus.publish`. */
export interface PublishEventOptions {
  /** Default: the current correlation id (`currentCorrelationId()`), else the new event's id. */
  correlationId?: string;
}

/** What the reconnect (fallback) hook is told: the window during which events may have been missed. */
export interface ReconnectInfo {
  disconnectedAt: Date;
  reconnectedAt: Date;
}

/** The fallback hook: poll the source of truth for what was missed between the two dates. */
export type ReconnectListener = (info: ReconnectInfo) => unknown;

/** One subscription; `unsubscribe()` removes the handler (and the channel subscription when it was the last). */
export interface EventSubscription {
  readonly pattern: string;
  unsubscribe(): Promise<void>;
}

/**
 * A stretch of time during which the bus did not listen, given to a poll of the source of truth:
 * from `from` to `to`. `final` is true for the last one, run when the bus listens again (`to` is then
 * the moment it did); later events arrive on the bus. Each window starts `overlapMs` before the
 * previous one ended (the first, before the connection was lost), so that work stamped with a time
 * but visible only later is not missed; one that failed is given again, grown, at the next tick.
 */
export interface MissedWindow {
  from: Date;
  to: Date;
  final: boolean;
}

/** Polls the source of truth for the work of a {@link MissedWindow}; may be async. */
export type MissedWindowPoll = (window: MissedWindow) => unknown;

/** Options of `EventBus.pollWhileDisconnected` (and of `@PollWhileDisconnected`). */
export interface PollWhileDisconnectedOptions {
  /** Time between polls while the bus is down (10 ms to 1 day). */
  everyMs: number;
  /** Polls only while this answers true (such as the leader's `isLeader`); a skipped window is kept. */
  when?: () => boolean;
  /**
   * How far each window reaches back before the end of the one before (and the first before the
   * loss): the longest a write of the source of truth takes to become visible after the time it is
   * stamped with. Default 1000; 0 makes windows meet exactly.
   */
  overlapMs?: number;
}
