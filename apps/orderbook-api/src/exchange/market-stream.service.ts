import { Injectable, type MessageEvent, type OnModuleInit, type OnApplicationShutdown } from '@nestjs/common';
import { EventBus, type EventEnvelope, type EventSubscription } from '@redkit/messaging';
import { filter, interval, map, merge, Observable, of, Subject } from 'rxjs';

import { exchangeTracer, traceFanOut } from './exchange.tracing.js';
import { BOOK_UPDATED, TRADE_EXECUTED } from './exchange.types.js';

/** How often an idle stream sends a heartbeat, so proxies keep it open. */
const HEARTBEAT_MS = 15_000;

/**
 * Feeds the Server-Sent Events streams from the event bus: one subscription per instance to
 * `trade.executed` and `book.updated` (whichever instance matched the order), fanned out to every
 * open stream of the market. Pub/sub is fire-and-forget: a client that reconnects should reread the
 * book (`GET /markets/:symbol/book`) and check `sequence`. While traced, each hand-over is an
 * `sse fan-out` span under the bus's `<type> receive` span, in the trace of the order that caused it.
 */
@Injectable()
export class MarketStreamService implements OnModuleInit, OnApplicationShutdown {
  private readonly events = new Subject<EventEnvelope<{ symbol: string }>>();
  private subscriptions: EventSubscription[] = [];

  constructor(private readonly bus: EventBus) {}

  async onModuleInit(): Promise<void> {
    const forward = (event: EventEnvelope<{ symbol: string }>): void => {
      if (exchangeTracer.enabled) traceFanOut(event.type, event.data.symbol, () => this.events.next(event));
      else this.events.next(event);
    };
    this.subscriptions = await Promise.all([
      this.bus.subscribe(TRADE_EXECUTED, forward),
      this.bus.subscribe(BOOK_UPDATED, forward),
    ]);
  }

  async onApplicationShutdown(): Promise<void> {
    this.events.complete();
    await Promise.all(
      this.subscriptions.map((subscription) => subscription.unsubscribe().catch(() => undefined)),
    );
  }

  /** The events of one market: first `subscribed`, then trades and book deltas, heartbeats between. */
  stream(symbol: string): Observable<MessageEvent> {
    return merge(
      of<MessageEvent>({ type: 'subscribed', data: { symbol } }),
      this.events.pipe(
        filter((event) => event.data.symbol === symbol),
        map((event): MessageEvent => ({ id: event.id, type: event.type, data: event.data })),
      ),
      interval(HEARTBEAT_MS).pipe(
        map((): MessageEvent => ({ type: 'heartbeat', data: { time: new Date().toISOString() } })),
      ),
    );
  }
}
