import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CacheService } from '@redkit/cache';
import { LockLostError, LockService } from '@redkit/lock';
import { EventBus } from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import {
  BookNotFoundError,
  OrderBookStore,
  SequenceGapError,
  StaleSequenceError,
  type OrderBookLevel,
} from '@redkit/orderbook';
import {
  InjectRedisConnection,
  RedisConnection,
  RedkitLogger,
  redisSpanAttributes,
  type RedisClient,
  type RedisKeyspace,
  type RedkitSpan,
  type SpanAttributes,
} from '@redkit/redis';
import type { Counter, Histogram } from 'prom-client';

import { InvalidFieldError, type Market } from '../markets/market.js';
import { MarketRegistry } from '../markets/market.registry.js';
import { IdempotencyConflictError, OrderNotFoundError, OrderNotOpenError } from './exchange.errors.js';
import {
  BOOK_UPDATED,
  marketCacheTag,
  TRADE_EXECUTED,
  type BookLevel,
  type BookUpdatedEvent,
  type NewOrder,
  type Order,
  type OrderSide,
  type OrderStatus,
  type PlaceOrderResult,
  type Trade,
  type TradeExecutedEvent,
} from './exchange.types.js';
import { EXCHANGE_DUPLICATE, EXCHANGE_TRADES, exchangeTracer, traceMatching } from './exchange.tracing.js';
import {
  cancelOrderScript,
  importBookScript,
  placeOrderScript,
  readLevelsScript,
} from './matching-scripts.js';

/** Trades kept per market (the list is trimmed past this). */
const TRADES_KEPT = 10_000;
/** How long a clientOrderId is remembered, in seconds. */
const CLIENT_ORDER_TTL_SECONDS = 86_400;
/** Fills one incoming order may make in one script run; the remainder is cancelled beyond it. */
const MAX_FILLS_PER_ORDER = 1_000;
/** Levels per side an imported book may have. */
export const MAX_IMPORT_LEVELS = 1_000;
const CLIENT_ORDER_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** How long the startup check of a market's book waits for its lock. */
const STARTUP_LOCK_WAIT_MS = 2_000;

/** An order as the scripts store it: integers (ticks, lots, epoch ms) as strings. */
interface StoredOrder {
  id: string;
  side: OrderSide;
  price: string;
  quantity: string;
  filled: string;
  status: OrderStatus;
  clientOrderId: string;
  createdAt: string;
  updatedAt: string;
}

/** A trade as the scripts store it: a {@link Trade} without its symbol (the key carries it). */
type StoredTrade = Omit<Trade, 'symbol'>;

/** The Redis keys of one market's matching state, all under the hash tag {<symbol>}. */
interface MarketKeys {
  /** fence, counters, orders, bids, asks, bid-levels, ask-levels: the keys every writing script takes first. */
  book: [string, string, string, string, string, string, string];
  trades: string;
}

/** What a write under the lock leaves to do once the lock is released. */
interface LockedOutcome<T> {
  result: T;
  /** Event publications already sent (in book order, before the release); awaited afterwards. */
  published: Promise<unknown>[];
}

/**
 * The matching engine: price-time priority limit orders, one market at a time under a redkit lock.
 *
 * Each write runs as `LockService.using('book:<symbol>')` → one Lua script that checks the lock's
 * fencing token against the highest the market has seen (a holder whose lease ran out is refused),
 * matches and writes orders, fills, trades and the aggregated levels atomically → a sequenced delta
 * to the `OrderBookStore` → `trade.executed` / `book.updated` on the `EventBus`; after the release
 * the cached book and ticker of the market are evicted (`CacheService.deleteByTag`).
 *
 * The scripts' aggregated levels are the truth; the order-book store is a copy kept in step by
 * sequenced deltas, and rebuilt from the levels (a snapshot) whenever a delta finds it out of step.
 */
@Injectable()
export class ExchangeService implements OnApplicationBootstrap {
  // Its lines carry the request's correlation id.
  private readonly logger = new RedkitLogger('Exchange');
  private readonly client: RedisClient;
  private readonly keyspace: RedisKeyspace;
  private readonly keys = new Map<string, MarketKeys>();
  private readonly ordersPlaced: Counter<'market' | 'outcome'>;
  private readonly tradesExecuted: Counter<'market'>;
  private readonly matchSeconds: Histogram<'market'>;
  private readonly bookResyncs: Counter<'market'>;
  private readonly connection: RedisConnection;
  private spanAttributes?: SpanAttributes;

  constructor(
    private readonly markets: MarketRegistry,
    @InjectRedisConnection() connection: RedisConnection,
    private readonly locks: LockService,
    private readonly books: OrderBookStore,
    private readonly bus: EventBus,
    private readonly cache: CacheService,
    metrics: MetricsService,
  ) {
    this.connection = connection;
    this.client = connection.client;
    this.keyspace = connection.keyspace('exchange');
    this.ordersPlaced = metrics.counter({
      name: 'redkit_exchange_orders_total',
      help: 'Orders placed, by market and outcome (open, partially_filled, filled, cancelled, duplicate)',
      labelNames: ['market', 'outcome'],
    });
    this.tradesExecuted = metrics.counter({
      name: 'redkit_exchange_trades_total',
      help: 'Trades executed, by market',
      labelNames: ['market'],
    });
    this.matchSeconds = metrics.histogram({
      name: 'redkit_exchange_match_duration_seconds',
      help: 'Time to place one order: lock wait, matching script, book delta and events',
      labelNames: ['market'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.bookResyncs = metrics.counter({
      name: 'redkit_exchange_book_resyncs_total',
      help: 'Times the order-book store was rebuilt from the matching state (a delta found it out of step)',
      labelNames: ['market'],
    });
  }

  /** Brings every market's order-book store in step with the matching state (after a restart). */
  async onApplicationBootstrap(): Promise<void> {
    for (const market of this.markets.all()) {
      try {
        await this.locks.using(this.lockResource(market.symbol), () => this.resyncBook(market), {
          maxWaitMs: STARTUP_LOCK_WAIT_MS,
        });
      } catch (error) {
        this.logger.warn(`could not check the book of ${market.symbol} at startup: ${String(error)}`);
      }
    }
  }

  /** The name of the lock that serialises matching on one market. */
  lockResource(symbol: string): string {
    return `book:${symbol}`;
  }

  /**
   * Places a limit order: validates it against the market's grids, then matches it under the
   * market's lock. A `clientOrderId` seen before returns the original order (`duplicate: true`).
   *
   * @throws InvalidFieldError (400), IdempotencyConflictError (409), LockNotAcquiredError (503),
   * FencedOutError (503).
   */
  async placeOrder(symbol: string, input: NewOrder): Promise<PlaceOrderResult> {
    const market = this.markets.get(symbol);
    const checked = this.checkOrder(market, input);
    const started = performance.now();
    const outcome = await this.underLock(symbol, (fencingToken) =>
      this.placeWithFence(market, checked, fencingToken),
    );
    await this.afterWrite(market, outcome.published, outcome.result.duplicate ? 0 : 1);
    this.matchSeconds.observe({ market: symbol }, (performance.now() - started) / 1000);
    const result = outcome.result;
    this.ordersPlaced.inc({ market: symbol, outcome: result.duplicate ? 'duplicate' : result.order.status });
    if (result.trades.length > 0) this.tradesExecuted.inc({ market: symbol }, result.trades.length);
    if (Logger.isLevelEnabled('debug')) {
      const { order } = result;
      this.logger.debug(
        `order ${order.id} ${order.side} ${order.quantity} @ ${order.price} on ${symbol}: ${order.status}, ${result.trades.length} trades${result.duplicate ? ' (duplicate)' : ''}`,
      );
    }
    return result;
  }

  /**
   * The matching step itself, for a caller that holds the market's lock with `fencingToken`. Exposed
   * so that tests can show a stale token being refused.
   */
  async placeWithFence(
    market: Market,
    order: CheckedOrder,
    fencingToken: number,
  ): Promise<LockedOutcome<PlaceOrderResult>> {
    const reply = exchangeTracer.enabled
      ? await traceMatching(
          (this.spanAttributes ??= redisSpanAttributes(this.connection)),
          market.symbol,
          order.side,
          () => this.match(market, order, fencingToken),
          describeMatch,
        )
      : await this.match(market, order, fencingToken);
    const [status, first, sequence, bidText, askText] = reply;
    const stored = JSON.parse(first as string) as StoredOrder;
    if (status === 'DUPLICATE') {
      if (
        stored.side !== order.side ||
        stored.price !== order.ticks.toString() ||
        stored.quantity !== order.lots.toString()
      ) {
        throw new IdempotencyConflictError(order.clientOrderId ?? '', stored.id);
      }
      return { result: { order: this.toOrder(market, stored), trades: [], duplicate: true }, published: [] };
    }
    const trades = reply.slice(5).map((text) => this.toTrade(market, JSON.parse(text) as StoredTrade));
    const published: Promise<unknown>[] = [];
    if (sequence !== '0') {
      const bids = this.levelsOf(market, bidText as string);
      const asks = this.levelsOf(market, askText as string);
      await this.syncBook(market, Number(sequence), bids, asks);
      // Sent in order on the shared connection before the lock's release: subscribers see the
      // trades and deltas of a market in book order.
      for (const trade of trades) {
        published.push(this.publish<TradeExecutedEvent>(TRADE_EXECUTED, { symbol: market.symbol, trade }));
      }
      published.push(
        this.publish<BookUpdatedEvent>(BOOK_UPDATED, {
          symbol: market.symbol,
          sequence: Number(sequence),
          snapshot: false,
          bids,
          asks,
        }),
      );
    }
    return { result: { order: this.toOrder(market, stored), trades, duplicate: false }, published };
  }

  /** The matching script of one order: one atomic step on the market's keys, fenced by the lock's token. */
  private match(market: Market, order: CheckedOrder, fencingToken: number): Promise<string[]> {
    const keys = this.keysOf(market.symbol);
    return placeOrderScript.run(
      this.client,
      [...keys.book, keys.trades, this.clientOrderKey(market.symbol, order.clientOrderId)],
      fencingToken,
      [
        order.side,
        order.ticks.toString(),
        order.lots.toString(),
        order.clientOrderId ?? '',
        String(Date.now()),
        String(TRADES_KEPT),
        String(CLIENT_ORDER_TTL_SECONDS),
        String(MAX_FILLS_PER_ORDER),
      ],
      market.symbol,
    );
  }

  /**
   * Cancels a resting order.
   *
   * @throws InvalidFieldError (400), OrderNotFoundError (404), OrderNotOpenError (409),
   * LockNotAcquiredError / FencedOutError (503).
   */
  async cancelOrder(symbol: string, orderId: string): Promise<Order> {
    const market = this.markets.get(symbol);
    const id = this.checkOrderId(orderId);
    const outcome = await this.underLock(symbol, async (fencingToken) => {
      const reply = await cancelOrderScript.run(
        this.client,
        this.keysOf(symbol).book,
        fencingToken,
        [id, String(Date.now())],
        symbol,
      );
      const [status, first, sequence, bidText, askText] = reply;
      if (status === 'NOT_FOUND') throw new OrderNotFoundError(symbol, id);
      const stored = JSON.parse(first as string) as StoredOrder;
      if (status === 'NOT_OPEN') throw new OrderNotOpenError(id, stored.status);
      const bids = this.levelsOf(market, bidText as string);
      const asks = this.levelsOf(market, askText as string);
      await this.syncBook(market, Number(sequence), bids, asks);
      const published = [
        this.publish<BookUpdatedEvent>(BOOK_UPDATED, {
          symbol,
          sequence: Number(sequence),
          snapshot: false,
          bids,
          asks,
        }),
      ];
      return { result: this.toOrder(market, stored), published };
    });
    await this.afterWrite(market, outcome.published, 1);
    return outcome.result;
  }

  /**
   * Replaces the book of a market: every resting order is cancelled and each imported level rests
   * as one order of its whole quantity, so that the matching engine and the book agree.
   *
   * @throws InvalidFieldError naming the level (`bids[2].price`), a duplicate price or a crossed book.
   */
  async importBook(
    symbol: string,
    book: { bids: readonly BookLevel[]; asks: readonly BookLevel[] },
  ): Promise<{
    symbol: string;
    sequence: number;
    bidLevels: number;
    askLevels: number;
    cancelledOrders: number;
  }> {
    const market = this.markets.get(symbol);
    const bids = this.checkLevels(market, 'bids', book.bids);
    const asks = this.checkLevels(market, 'asks', book.asks);
    const bestBid = bids.reduce((best, level) => (level[0] > best ? level[0] : best), -1n);
    const bestAsk = asks.reduce((best, level) => (best < 0n || level[0] < best ? level[0] : best), -1n);
    if (bestBid >= 0n && bestAsk >= 0n && bestBid >= bestAsk) {
      throw new InvalidFieldError(
        'asks',
        `cross the bids: best bid ${market.tick.format(bestBid)} >= best ask ${market.tick.format(bestAsk)}`,
      );
    }
    const outcome = await this.underLock(symbol, async (fencingToken) => {
      const args = [String(Date.now()), String(bids.length)];
      for (const [ticks, lots] of [...bids, ...asks]) args.push(ticks.toString(), lots.toString());
      const reply = await importBookScript.run(
        this.client,
        this.keysOf(symbol).book,
        fencingToken,
        args,
        symbol,
      );
      const levels = await this.resyncBook(market);
      const published = [
        this.publish<BookUpdatedEvent>(BOOK_UPDATED, {
          symbol,
          sequence: levels.sequence,
          snapshot: true,
          bids: levels.bids,
          asks: levels.asks,
        }),
      ];
      return {
        result: {
          symbol,
          sequence: levels.sequence,
          bidLevels: levels.bids.length,
          askLevels: levels.asks.length,
          cancelledOrders: Number(reply[2]),
        },
        published,
      };
    });
    await this.afterWrite(market, outcome.published, 1);
    return outcome.result;
  }

  /** One order of a market. @throws InvalidFieldError (400), OrderNotFoundError (404). */
  async getOrder(symbol: string, orderId: string): Promise<Order> {
    const market = this.markets.get(symbol);
    const id = this.checkOrderId(orderId);
    const text = await this.client.hget(this.keysOf(symbol).book[2], id);
    if (text === null) throw new OrderNotFoundError(symbol, id);
    return this.toOrder(market, JSON.parse(text) as StoredOrder);
  }

  /** The latest trades of a market, newest first. */
  async listTrades(symbol: string, limit: number): Promise<Trade[]> {
    const market = this.markets.get(symbol);
    const texts = await this.client.lrange(this.keysOf(symbol).trades, 0, limit - 1);
    return texts.map((text) => this.toTrade(market, JSON.parse(text) as StoredTrade));
  }

  /** The market's latest trade, or null. */
  async lastTrade(symbol: string): Promise<Trade | null> {
    const market = this.markets.get(symbol);
    const text = await this.client.lindex(this.keysOf(symbol).trades, 0);
    return text === null ? null : this.toTrade(market, JSON.parse(text) as StoredTrade);
  }

  /** Whether a market has resting orders (the demo seeds only empty ones). */
  async hasRestingOrders(symbol: string): Promise<boolean> {
    const keys = this.keysOf(symbol).book;
    const [bids, asks] = await Promise.all([this.client.zcard(keys[3]), this.client.zcard(keys[4])]);
    return bids + asks > 0;
  }

  /**
   * Runs one write of a market under its lock (`LockService.using`, extended while it runs). The
   * write itself is guarded by the fencing token its script checks, so once the script has committed
   * the write stands: a `LockLostError` raised after that (the lease ran out while the delta or the
   * events were on their way) is not reported as a failure of a write that happened. Before the
   * script has run, a lost lock fails the call (503) and nothing was written.
   */
  private async underLock<T>(
    symbol: string,
    write: (fencingToken: number) => Promise<LockedOutcome<T>>,
  ): Promise<LockedOutcome<T>> {
    let outcome: LockedOutcome<T> | undefined;
    try {
      await this.locks.using(this.lockResource(symbol), async (_signal, lock) => {
        outcome = await write(lock.fencingToken);
      });
    } catch (error) {
      if (!(error instanceof LockLostError) || outcome === undefined) throw error;
      this.logger.warn(`the lock on ${symbol} was lost after a committed write: ${error.message}`);
    }
    return outcome as LockedOutcome<T>;
  }

  /** Checks and converts a new order; throws {@link InvalidFieldError} naming the field. */
  checkOrder(market: Market, input: NewOrder): CheckedOrder {
    if (input.side !== 'buy' && input.side !== 'sell') {
      throw new InvalidFieldError('side', 'must be "buy" or "sell"');
    }
    const clientOrderId = input.clientOrderId;
    if (
      clientOrderId !== undefined &&
      (typeof clientOrderId !== 'string' || !CLIENT_ORDER_ID.test(clientOrderId))
    ) {
      throw new InvalidFieldError('clientOrderId', 'must be 1-64 characters of A-Z a-z 0-9 . _ : -');
    }
    return {
      side: input.side,
      ticks: market.priceTicks(input.price, 'price'),
      lots: market.quantityLots(input.quantity, 'quantity'),
      clientOrderId,
    };
  }

  private checkOrderId(orderId: string): string {
    if (typeof orderId !== 'string' || !/^[1-9][0-9]{0,15}$/.test(orderId)) {
      throw new InvalidFieldError('id', 'must be an order id: a whole number from 1, at most 16 digits');
    }
    return orderId;
  }

  private checkLevels(
    market: Market,
    field: 'bids' | 'asks',
    levels: readonly BookLevel[],
  ): [bigint, bigint][] {
    if (!Array.isArray(levels)) throw new InvalidFieldError(field, 'must be an array of { price, quantity }');
    if (levels.length > MAX_IMPORT_LEVELS) {
      throw new InvalidFieldError(
        field,
        `must have at most ${MAX_IMPORT_LEVELS} levels, got ${levels.length}`,
      );
    }
    const seen = new Set<bigint>();
    return levels.map((level, index) => {
      const ticks = market.priceTicks(level?.price, `${field}[${index}].price`);
      const lots = market.quantityLots(level?.quantity, `${field}[${index}].quantity`);
      if (seen.has(ticks)) {
        throw new InvalidFieldError(
          `${field}[${index}].price`,
          `${market.tick.format(ticks)} appears twice in ${field}`,
        );
      }
      seen.add(ticks);
      return [ticks, lots];
    });
  }

  /**
   * Applies the delta of one write to the order-book store. A store out of step (a gap: an earlier
   * delta never landed; stale: a fenced-out holder raced; no book yet) is rebuilt from the levels. A
   * store that cannot be reached is logged: the write itself is done, and the next one resyncs.
   */
  private async syncBook(
    market: Market,
    sequence: number,
    bids: BookLevel[],
    asks: BookLevel[],
  ): Promise<void> {
    try {
      await this.books.applyDelta(market.symbol, { sequence, bids, asks });
    } catch (error) {
      if (
        error instanceof SequenceGapError ||
        error instanceof StaleSequenceError ||
        error instanceof BookNotFoundError
      ) {
        await this.resyncBook(market).catch((resyncError: unknown) => {
          this.logger.warn(`resync of the ${market.symbol} book failed: ${String(resyncError)}`);
        });
        return;
      }
      this.logger.warn(
        `book delta ${sequence} of ${market.symbol} not applied (resynced on the next write): ${String(error)}`,
      );
    }
  }

  /**
   * Rebuilds the store's book of a market from the matching state, read in one script, unless the
   * store is at that sequence already. A store ahead of the matching state (its history was reset)
   * is replaced.
   */
  private async resyncBook(
    market: Market,
  ): Promise<{ sequence: number; bids: BookLevel[]; asks: BookLevel[] }> {
    const keys = this.keysOf(market.symbol).book;
    const [sequenceText, bidPairs, askPairs] = await readLevelsScript.run(
      this.client,
      [keys[1], keys[5], keys[6]],
      [],
    );
    const sequence = Number(sequenceText);
    const levels = {
      sequence,
      bids: this.pairsToLevels(market, bidPairs, true),
      asks: this.pairsToLevels(market, askPairs, false),
    };
    const current = await this.books.getTop(market.symbol);
    if (current !== null && current.sequence === sequence) return levels;
    if (current !== null && current.sequence > sequence) await this.books.delete(market.symbol);
    try {
      await this.books.saveSnapshot(market.symbol, levels);
      this.bookResyncs.inc({ market: market.symbol });
    } catch (error) {
      // Someone saved this sequence or a later one in between: the store is in step.
      if (!(error instanceof StaleSequenceError)) throw error;
    }
    return levels;
  }

  private pairsToLevels(market: Market, pairs: string[], descending: boolean): BookLevel[] {
    const units: [bigint, bigint][] = [];
    for (let index = 0; index + 1 < pairs.length; index += 2) {
      units.push([BigInt(pairs[index] as string), BigInt(pairs[index + 1] as string)]);
    }
    units.sort((a, b) => (a[0] === b[0] ? 0 : a[0] < b[0] !== descending ? -1 : 1));
    return units.map(([ticks, lots]) => ({
      price: market.tick.format(ticks),
      quantity: market.lot.format(lots),
    }));
  }

  /** After the lock's release: waits for the events and evicts the market's cached reads. */
  private async afterWrite(market: Market, published: Promise<unknown>[], changes: number): Promise<void> {
    await Promise.all(published);
    if (changes === 0) return;
    try {
      await this.cache.deleteByTag(marketCacheTag(market.symbol));
    } catch (error) {
      this.logger.warn(
        `cached reads of ${market.symbol} not evicted (they expire with their TTL): ${String(error)}`,
      );
    }
  }

  /** Publishes an event; a failure is logged, not thrown: the write it reports is already done. */
  private publish<T>(type: string, data: T): Promise<unknown> {
    return this.bus.publish(type, data).catch((error: unknown) => {
      this.logger.warn(`event ${type} not published: ${String(error)}`);
    });
  }

  private levelsOf(market: Market, text: string): OrderBookLevel[] {
    if (text === '') return [];
    return text.split(',').map((pair) => {
      const colon = pair.indexOf(':');
      return {
        price: market.tick.format(pair.slice(0, colon)),
        quantity: market.lot.format(pair.slice(colon + 1)),
      };
    });
  }

  private toOrder(market: Market, stored: StoredOrder): Order {
    const quantity = BigInt(stored.quantity);
    const filled = BigInt(stored.filled);
    const resting = stored.status === 'open' || stored.status === 'partially_filled';
    return {
      id: stored.id,
      symbol: market.symbol,
      side: stored.side,
      price: market.tick.format(stored.price),
      quantity: market.lot.format(quantity),
      filledQuantity: market.lot.format(filled),
      remainingQuantity: market.lot.format(resting ? quantity - filled : 0n),
      status: stored.status,
      clientOrderId: stored.clientOrderId === '' ? null : stored.clientOrderId,
      createdAt: new Date(Number(stored.createdAt)).toISOString(),
      updatedAt: new Date(Number(stored.updatedAt)).toISOString(),
    };
  }

  private toTrade(market: Market, stored: StoredTrade): Trade {
    return {
      id: stored.id,
      symbol: market.symbol,
      price: market.tick.format(stored.price),
      quantity: market.lot.format(stored.quantity),
      takerSide: stored.takerSide,
      makerOrderId: stored.makerOrderId,
      takerOrderId: stored.takerOrderId,
      time: new Date(Number(stored.time)).toISOString(),
    };
  }

  private keysOf(symbol: string): MarketKeys {
    let keys = this.keys.get(symbol);
    if (keys === undefined) {
      const space = this.keyspace;
      keys = {
        book: [
          space.tagged(symbol, 'fence'),
          space.tagged(symbol, 'counters'),
          space.tagged(symbol, 'orders'),
          space.tagged(symbol, 'bids'),
          space.tagged(symbol, 'asks'),
          space.tagged(symbol, 'bid-levels'),
          space.tagged(symbol, 'ask-levels'),
        ],
        trades: space.tagged(symbol, 'trades'),
      };
      this.keys.set(symbol, keys);
    }
    return keys;
  }

  private clientOrderKey(symbol: string, clientOrderId: string | undefined): string {
    return this.keyspace.tagged(symbol, 'client-order', clientOrderId ?? '-');
  }
}

/** What the matching script's reply adds to its span: the trades it made, or that it was a duplicate. */
function describeMatch(span: RedkitSpan, reply: readonly string[]): void {
  if (reply[0] === 'DUPLICATE') span.setAttribute(EXCHANGE_DUPLICATE, true);
  else span.setAttribute(EXCHANGE_TRADES, reply.length - 5);
}

/** A new order once checked: integer ticks and lots. */
export interface CheckedOrder {
  side: OrderSide;
  ticks: bigint;
  lots: bigint;
  clientOrderId?: string;
}
