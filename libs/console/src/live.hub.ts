import { HttpException, HttpStatus, Inject, Injectable, type MessageEvent } from '@nestjs/common';
import {
  asyncScheduler,
  catchError,
  defer,
  distinctUntilChanged,
  EMPTY,
  exhaustMap,
  filter,
  from,
  map,
  merge,
  Observable,
  ReplaySubject,
  share,
  throttleTime,
  timer,
} from 'rxjs';

import { CacheView } from './cache.view.js';
import type { EventBatch } from './console-api.types.js';
import { CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { ConsolePeers } from './console-peers.js';
import { EventTail } from './event-tail.js';
import { LocksView } from './locks.view.js';
import { MetricsSampler, type MetricsSample } from './metrics.sampler.js';
import { OrderBookView } from './orderbook.view.js';
import { RedisView } from './redis.view.js';
import { StreamsView } from './streams.view.js';

/**
 * How often the streams list is read for the live stream: twice a second, so a change shows within
 * a second; it is sent only when it changed, and at most once a second (`STREAMS_AT_MOST_MS`).
 */
const STREAMS_EVERY_MS = 500;
const STREAMS_AT_MOST_MS = 1_000;
/** How often the slower views (redis, locks, limits, cache) are sent. */
const VIEWS_EVERY_MS = 2_000;
/** How often order books are checked for a new sequence. */
const BOOKS_EVERY_MS = 1_000;
/** Books watched at most when the page does not name one. */
const MAX_WATCHED_BOOKS = 20;
/** An SSE comment keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/** Shared by every open page: one reader per topic, however many pages listen. */
function shareLatest<T>(source: Observable<T>): Observable<T> {
  return source.pipe(share({ connector: () => new ReplaySubject<T>(1), resetOnRefCountZero: true }));
}

/** Polls `read` every `everyMs` (never two at once); a failed read is skipped, not fatal. */
function poll<T>(everyMs: number, read: () => Promise<T>): Observable<T> {
  return timer(0, everyMs).pipe(exhaustMap(() => defer(read).pipe(catchError(() => EMPTY))));
}

/**
 * The live stream behind `GET api/live` (SSE), one per page: `streams` within a second of a change
 * (and only then, at most once a second), `throughput` each second, `events` batches every 250 ms (capped per second),
 * `redis`, `locks`, `limits` and `cache` every 2 s, `orderbook` change notices, a heartbeat comment
 * every 15 s. Every topic has one reader shared by all open pages, started with the first page and
 * stopped with the last, so ten pages cost Redis what one does. At most `maxLiveConnections` open
 * at once (429 past it).
 */
@Injectable()
export class LiveHub {
  private open = 0;
  private readonly streams$: Observable<MessageEvent>;
  private readonly views$: Observable<MessageEvent>;
  private readonly throughput$: Observable<MessageEvent>;

  constructor(
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
    @Inject(StreamsView) streams: StreamsView,
    @Inject(MetricsSampler) private readonly sampler: MetricsSampler,
    @Inject(EventTail) private readonly events: EventTail,
    @Inject(LocksView) locks: LocksView,
    @Inject(CacheView) cache: CacheView,
    @Inject(RedisView) redis: RedisView,
    @Inject(OrderBookView) private readonly books: OrderBookView,
  ) {
    this.streams$ = shareLatest(
      poll(STREAMS_EVERY_MS, () => streams.list(true)).pipe(
        map((body) => JSON.stringify(body)),
        distinctUntilChanged(),
        throttleTime(STREAMS_AT_MOST_MS, asyncScheduler, { leading: true, trailing: true }),
        map((data): MessageEvent => ({ type: 'streams', data })),
      ),
    );
    const views = () => this.peers.views();
    this.views$ = shareLatest(
      timer(0, VIEWS_EVERY_MS).pipe(
        exhaustMap(() =>
          merge(
            ...[
              defer(() => redis.body()).pipe(map((data): MessageEvent => ({ type: 'redis', data }))),
              views().includes('locks')
                ? defer(() => locks.page(undefined, 100)).pipe(
                    map((data): MessageEvent => ({ type: 'locks', data })),
                  )
                : EMPTY,
              views().includes('limits')
                ? defer(async (): Promise<MessageEvent> => ({
                    type: 'limits',
                    data: this.sampler.limits.body(),
                  }))
                : EMPTY,
              views().includes('cache')
                ? defer(() => cache.body()).pipe(map((data): MessageEvent => ({ type: 'cache', data })))
                : EMPTY,
            ].map((topic) => topic.pipe(catchError(() => EMPTY))),
          ),
        ),
      ),
    );
    this.throughput$ = new Observable<MetricsSample>((subscriber) =>
      this.sampler.onSample((sample) => subscriber.next(sample)),
    ).pipe(
      map((sample) => {
        const points = sample.throughput.filter((point) => !this.options.hidden.matches(point.stream));
        return { at: sample.at, streams: Object.fromEntries(points.map((point) => [point.stream, point])) };
      }),
      filter((data) => Object.keys(data.streams).length > 0),
      map((data): MessageEvent => ({ type: 'throughput', data })),
      share(),
    );
  }

  /** Live connections open now. */
  get connections(): number {
    return this.open;
  }

  /** One page's stream; `books` are the order books it watches (default: the first 20 found). */
  connect(books: readonly string[] = []): Observable<MessageEvent> {
    if (this.open >= this.options.maxLiveConnections) {
      throw new HttpException(
        {
          statusCode: HttpStatus.TOO_MANY_REQUESTS,
          error: 'Too Many Requests',
          message: `${this.options.maxLiveConnections} live connections are open already; the page polls instead`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    const views = this.peers.views();
    const topics: Observable<MessageEvent>[] = [this.views$];
    if (views.includes('streams')) topics.push(this.streams$, this.throughput$);
    if (views.includes('events')) topics.push(this.eventBatches());
    if (views.includes('orderbook')) topics.push(this.bookChanges(books));
    topics.push(
      timer(HEARTBEAT_MS, HEARTBEAT_MS).pipe(
        map((): MessageEvent => ({ comment: 'heartbeat' }) as MessageEvent),
      ),
    );
    return new Observable<MessageEvent>((subscriber) => {
      this.open += 1;
      const subscription = merge(...topics).subscribe(subscriber);
      return () => {
        this.open -= 1;
        subscription.unsubscribe();
      };
    });
  }

  private eventBatches(): Observable<MessageEvent> {
    return new Observable<EventBatch>((subscriber) =>
      this.events.follow((batch) => subscriber.next(batch)),
    ).pipe(map((data): MessageEvent => ({ type: 'events', data })));
  }

  /** `{ symbol, sequence, updatedAt }` whenever a watched book's sequence moves. */
  private bookChanges(named: readonly string[]): Observable<MessageEvent> {
    const seen = new Map<string, number>();
    return poll(BOOKS_EVERY_MS, async () => {
      const symbols =
        named.length > 0 ? named : (await this.books.listSymbols()).symbols.slice(0, MAX_WATCHED_BOOKS);
      const tops = await Promise.all(symbols.map((symbol) => this.books.top(symbol)));
      const changed: MessageEvent[] = [];
      for (const top of tops) {
        if (top === null) continue;
        const last = seen.get(top.symbol);
        seen.set(top.symbol, top.sequence);
        if (last !== undefined && last !== top.sequence) changed.push({ type: 'orderbook', data: top });
      }
      return changed;
    }).pipe(exhaustMap((changed) => from(changed)));
  }
}
