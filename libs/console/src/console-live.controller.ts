import { Inject, type MessageEvent, Query, Sse } from '@nestjs/common';
import type { Observable } from 'rxjs';

import { nameParam } from './console-input.js';
import { LiveHub } from './live.hub.js';

/** The live stream (SSE), one per page; Nest's `@Sse` works on Express and Fastify alike. */
export class ConsoleLiveController {
  constructor(@Inject(LiveHub) private readonly hub: LiveHub) {}

  /** `?orderbook=<symbol>` (repeatable, at most 20) names the books to watch; default the first 20 found. */
  @Sse('api/live')
  live(@Query('orderbook') orderbook?: string | string[]): Observable<MessageEvent> {
    const named = orderbook === undefined ? [] : Array.isArray(orderbook) ? orderbook : [orderbook];
    return this.hub.connect(named.slice(0, 20).map((symbol) => nameParam('orderbook', symbol)));
  }
}
