import { Inject, type MessageEvent, Query, Req, Sse } from '@nestjs/common';
import { defer, exhaustMap, filter, type Observable, take, takeUntil, timer } from 'rxjs';

import type { ApiKeySession } from './api-key-sessions.js';
import { nameParam } from './console-input.js';
import type { ConsoleRequest } from './console-request.js';
import { LiveHub } from './live.hub.js';
import { SessionRevocations } from './session-revocations.js';

/** How often a live stream opened with an API-key session checks that the session still holds. */
const SESSION_CHECK_MS = 2_000;

/** The live stream (SSE), one per page; Nest's `@Sse` works on Express and Fastify alike. */
export class ConsoleLiveController {
  constructor(
    @Inject(LiveHub) private readonly hub: LiveHub,
    @Inject(SessionRevocations) private readonly revocations: SessionRevocations,
  ) {}

  /**
   * `?orderbook=<symbol>` (repeatable, at most 20) names the books to watch; default the first 20
   * found. A stream opened with an API-key session ends when the session does (it expires, or is
   * signed out on any instance): the page's reconnect then meets the 401.
   */
  @Sse('api/live')
  live(
    @Req() request: ConsoleRequest,
    @Query('orderbook') orderbook?: string | string[],
  ): Observable<MessageEvent> {
    const named = orderbook === undefined ? [] : Array.isArray(orderbook) ? orderbook : [orderbook];
    const stream = this.hub.connect(named.slice(0, 20).map((symbol) => nameParam('orderbook', symbol)));
    const session = request.consoleSession;
    return session === undefined ? stream : stream.pipe(takeUntil(this.ended(session)));
  }

  /** Emits once `session` has expired or was signed out (checked every SESSION_CHECK_MS). */
  private ended(session: ApiKeySession): Observable<unknown> {
    return timer(SESSION_CHECK_MS, SESSION_CHECK_MS).pipe(
      exhaustMap(() =>
        defer(async () => Date.now() >= session.expiresAt || (await this.revocations.isRevoked(session))),
      ),
      filter((ended) => ended),
      take(1),
    );
  }
}
