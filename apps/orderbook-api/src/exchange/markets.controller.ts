import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
  Res,
  Sse,
  UseGuards,
  type MessageEvent,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Cacheable, type CacheRequestArguments } from '@redkit/cache';
import { OrderBookStore, bookChecksum } from '@redkit/orderbook';
import { RateLimit } from '@redkit/rate-limit';
import type { Observable } from 'rxjs';

import { AdminApiKeyGuard, ADMIN_API_KEY_HEADER } from '../http/admin-api-key.guard.js';
import { MarketRegistry } from '../markets/market.registry.js';
import { ExchangeService } from './exchange.service.js';
import { marketCacheTag, type Order, type PlaceOrderResult, type Trade } from './exchange.types.js';
import { MarketStreamService } from './market-stream.service.js';
import { BookQuery, ImportBookRequest, PlaceOrderRequest, TradesQuery } from './requests.dto.js';
import {
  BookResponse,
  ErrorResponse,
  ImportBookResponse,
  MarketResponse,
  OrderResponse,
  PlaceOrderResponse,
  TickerResponse,
  TradeResponse,
} from './responses.dto.js';

/** Writes: strict, per client. */
const WRITE_LIMIT = { name: 'writes', limit: 10, windowMs: 1_000 } as const;
/** Reads: loose, per client. */
const READ_LIMIT = { name: 'reads', limit: 100, windowMs: 1_000 } as const;
/** How long a cached book or ticker is served; every change of the book evicts it sooner. */
const READ_CACHE_TTL_MS = 5_000;
const DEFAULT_DEPTH = 20;

/**
 * Cached reads are keyed on the raw query (before validation): a query with other parameters than
 * `allowed` bypasses the cache (and is then refused by validation), and so does `fresh=true`.
 */
function cacheableQuery(...allowed: string[]): (request: CacheRequestArguments) => boolean {
  return ({ query }) => {
    for (const key in query) if (!allowed.includes(key)) return false;
    return query.fresh === undefined || query.fresh === 'false';
  };
}

/** Response with the one method the place-order route needs. */
interface StatusResponse {
  status(code: number): unknown;
}

@ApiTags('markets')
@ApiTooManyRequestsResponse({
  description: 'Rate limit passed; see Retry-After and RateLimit-* headers',
  type: ErrorResponse,
})
@ApiBadRequestResponse({
  description: 'A field is invalid: `errors` names each one and why',
  type: ErrorResponse,
})
@ApiServiceUnavailableResponse({
  description: 'Redis unreachable, or (writes) the market busy past 5 s: retry after Retry-After',
  type: ErrorResponse,
})
@Controller('markets')
export class MarketsController {
  constructor(
    private readonly markets: MarketRegistry,
    private readonly exchange: ExchangeService,
    private readonly books: OrderBookStore,
    private readonly streams: MarketStreamService,
  ) {}

  @Get()
  @RateLimit(READ_LIMIT)
  @ApiOperation({ summary: 'Markets and their price and quantity grids' })
  @ApiOkResponse({ type: [MarketResponse] })
  list(): MarketResponse[] {
    return this.markets.all().map((market) => ({
      symbol: market.symbol,
      base: market.base,
      quote: market.quote,
      tickSize: market.tick.step,
      lotSize: market.lot.step,
      maxPrice: market.definition.maxPrice,
      maxQuantity: market.definition.maxQuantity,
    }));
  }

  @Post(':symbol/orders')
  @RateLimit(WRITE_LIMIT)
  @ApiOperation({
    summary: 'Place a limit order',
    description:
      'Matches at once against resting orders, best price first and oldest first within a price, trading at the resting price; what is left rests. With a clientOrderId seen before, answers 200 with the original order and places nothing.',
  })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiCreatedResponse({ type: PlaceOrderResponse, description: 'Placed (and possibly matched)' })
  @ApiOkResponse({ type: PlaceOrderResponse, description: 'Duplicate clientOrderId: the original order' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'clientOrderId reused for a different order' })
  async place(
    @Param('symbol') symbol: string,
    @Body() body: PlaceOrderRequest,
    @Res({ passthrough: true }) response: StatusResponse,
  ): Promise<PlaceOrderResult> {
    const result = await this.exchange.placeOrder(symbol, body);
    response.status(result.duplicate ? HttpStatus.OK : HttpStatus.CREATED);
    return result;
  }

  @Get(':symbol/orders/:id')
  @RateLimit(READ_LIMIT)
  @ApiOperation({ summary: 'One order, with what was filled' })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiParam({ name: 'id', example: '42' })
  @ApiOkResponse({ type: OrderResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  order(@Param('symbol') symbol: string, @Param('id') id: string): Promise<Order> {
    return this.exchange.getOrder(symbol, id);
  }

  @Delete(':symbol/orders/:id')
  @RateLimit(WRITE_LIMIT)
  @ApiOperation({ summary: 'Cancel a resting order' })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiParam({ name: 'id', example: '42' })
  @ApiOkResponse({ type: OrderResponse, description: 'The cancelled order' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiConflictResponse({ type: ErrorResponse, description: 'Filled or cancelled already' })
  cancel(@Param('symbol') symbol: string, @Param('id') id: string): Promise<Order> {
    return this.exchange.cancelOrder(symbol, id);
  }

  @Get(':symbol/trades')
  @RateLimit(READ_LIMIT)
  @ApiOperation({ summary: 'Latest trades, newest first' })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiOkResponse({ type: [TradeResponse] })
  trades(@Param('symbol') symbol: string, @Query() query: TradesQuery): Promise<Trade[]> {
    return this.exchange.listTrades(symbol, query.limit ?? 50);
  }

  @Get(':symbol/book')
  @RateLimit(READ_LIMIT)
  @Cacheable<[CacheRequestArguments]>({
    keyFn: ({ params, query }) => `book:${params.symbol}:${String(query.depth ?? DEFAULT_DEPTH)}`,
    tags: ({ params }) => [marketCacheTag(String(params.symbol))],
    condition: cacheableQuery('depth', 'fresh'),
    ttlMs: READ_CACHE_TTL_MS,
  })
  @ApiOperation({
    summary: 'Depth snapshot: top levels of each side, sequence and checksum',
    description:
      'Cached (two levels: in-process and Redis) and evicted on every change of the book; `fresh=true` bypasses the cache.',
  })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiOkResponse({ type: BookResponse })
  async book(@Param('symbol') symbol: string, @Query() query: BookQuery): Promise<BookResponse> {
    this.markets.get(symbol);
    const depth = query.depth ?? DEFAULT_DEPTH;
    const snapshot = await this.books.getSnapshot(symbol, depth);
    if (snapshot !== null) return snapshot;
    return {
      symbol,
      sequence: 0,
      updatedAt: 0,
      depth,
      bids: [],
      asks: [],
      bestBid: null,
      bestAsk: null,
      spread: null,
      mid: null,
      checksum: bookChecksum([], []),
    };
  }

  @Get(':symbol/ticker')
  @RateLimit(READ_LIMIT)
  @Cacheable<[CacheRequestArguments]>({
    keyFn: ({ params }) => `ticker:${params.symbol}`,
    tags: ({ params }) => [marketCacheTag(String(params.symbol))],
    condition: cacheableQuery(),
    ttlMs: READ_CACHE_TTL_MS,
  })
  @ApiOperation({
    summary: 'Best bid and ask, spread, mid and the last trade',
    description: 'Cached like the book.',
  })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiOkResponse({ type: TickerResponse })
  async ticker(@Param('symbol') symbol: string): Promise<TickerResponse> {
    this.markets.get(symbol);
    const [top, lastTrade] = await Promise.all([this.books.getTop(symbol), this.exchange.lastTrade(symbol)]);
    return {
      symbol,
      sequence: top?.sequence ?? 0,
      bestBid: top?.bestBid ?? null,
      bestAsk: top?.bestAsk ?? null,
      spread: top?.spread ?? null,
      mid: top?.mid ?? null,
      lastTrade,
    };
  }

  @Put(':symbol/book')
  @HttpCode(HttpStatus.OK)
  @UseGuards(AdminApiKeyGuard)
  @RateLimit(WRITE_LIMIT)
  @ApiOperation({
    summary: 'Import a whole book (admin)',
    description:
      'Cancels every resting order and rests one order per imported level. Needs the x-api-key header (ADMIN_API_KEY).',
  })
  @ApiHeader({ name: ADMIN_API_KEY_HEADER, required: true, description: 'The admin API key' })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiOkResponse({ type: ImportBookResponse })
  @ApiUnauthorizedResponse({ type: ErrorResponse, description: 'Missing or wrong x-api-key' })
  @ApiForbiddenResponse({ type: ErrorResponse, description: 'The admin API is disabled (no ADMIN_API_KEY)' })
  importBook(@Param('symbol') symbol: string, @Body() body: ImportBookRequest): Promise<ImportBookResponse> {
    return this.exchange.importBook(symbol, body);
  }

  @Sse(':symbol/stream')
  @RateLimit(READ_LIMIT)
  @ApiOperation({
    summary: 'Server-Sent Events: trades and book deltas of the market',
    description:
      'Events: `subscribed` first, then `trade.executed` ({ symbol, trade }) and `book.updated` ({ symbol, sequence, snapshot, bids, asks }; quantity "0" removes a level), `heartbeat` every 15 s. Each data is the event bus envelope\'s data; `id` is the envelope id.',
  })
  @ApiParam({ name: 'symbol', example: 'BTC-USD' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'An event stream (text/event-stream)' })
  stream(@Param('symbol') symbol: string): Observable<MessageEvent> {
    this.markets.get(symbol);
    return this.streams.stream(symbol);
  }
}
