import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Injectable,
  type INestApplication,
  Module,
  NotFoundException,
  Param,
  Post,
  type Provider,
  Put,
  Query,
  Scope,
  type Type,
} from '@nestjs/common';
import { INTERCEPTORS_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { Test } from '@nestjs/testing';
import {
  CacheDecoratorError,
  CacheDecoratorsExplorer,
  CacheEvict,
  CACHE_EVICT_METADATA,
  CacheModule,
  CachePut,
  CacheService,
  Cacheable,
  type CacheRequestArguments,
} from '@redkit/cache';
import { getRedisConnectionToken, RedisModule, type RedisConnection } from '@redkit/redis';
import request from 'supertest';

import {
  captureLogs,
  createHttpApp,
  HTTP_ADAPTERS,
  sharedRedisUrl,
  type HttpAdapterName,
} from '../harness/index.js';
import { deleteKeys, sleep, uniquePrefix } from './cache-test-kit.js';

/** How many times each decorated method or handler really ran. */
@Injectable()
class CallLog {
  private readonly counts = new Map<string, number>();

  record(name: string): number {
    const count = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, count);
    return count;
  }

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

interface BookQuery {
  symbol: string;
  depth: number;
}

interface Book {
  symbol: string;
  depth: number;
  bids: number[];
}

interface Price {
  symbol: string;
  value: number;
}

/** A dependency of the decorated service, to show injection still works inside cached methods. */
@Injectable()
class BookRepository {
  constructor(private readonly log: CallLog) {}

  async load(symbol: string, depth: number): Promise<Book> {
    this.log.record(`repository.load:${symbol}`);
    await sleep(10);
    return { symbol, depth, bids: Array.from({ length: depth }, (_, level) => 100 - level) };
  }
}

@Injectable()
class BooksService {
  private readonly prices = new Map<string, Price>();

  constructor(
    private readonly repository: BookRepository,
    private readonly log: CallLog,
  ) {}

  @Cacheable({ ttlMs: 60_000 })
  async findBook(query: BookQuery): Promise<Book> {
    this.log.record(`findBook:${query.symbol}`);
    return this.repository.load(query.symbol, query.depth);
  }

  @Cacheable()
  spread(symbol: string): number {
    this.log.record(`spread:${symbol}`);
    return symbol.length / 100;
  }

  @Cacheable({ condition: (symbol: string) => !symbol.startsWith('LIVE') })
  async quote(symbol: string): Promise<number> {
    return this.log.record(`quote:${symbol}`);
  }

  @Cacheable<[string], { symbol: string; partial: boolean }>({
    key: 'snapshot:{0}',
    unless: (result) => result.partial,
  })
  async snapshot(symbol: string): Promise<{ symbol: string; partial: boolean }> {
    this.log.record(`snapshot:${symbol}`);
    return { symbol, partial: symbol.startsWith('PARTIAL') };
  }

  @Cacheable({ key: 'book:{0.symbol}:{1}' })
  async bookAt(query: { symbol: string }, depth: number): Promise<string> {
    this.log.record(`bookAt:${query.symbol}:${depth}`);
    return `${query.symbol}@${depth}`;
  }

  @Cacheable({ keyFn: (symbol: string, side: 'bid' | 'ask') => `side:${symbol.toLowerCase()}:${side}` })
  async side(symbol: string, side: 'bid' | 'ask'): Promise<string> {
    this.log.record(`side:${symbol}:${side}`);
    return `${symbol} ${side}`;
  }

  @Cacheable({ key: 'tagged:{0}', tags: ['books', 'book:{0}'] })
  async tagged(symbol: string): Promise<number> {
    return this.log.record(`tagged:${symbol}`);
  }

  @Cacheable({ key: 'missing:{0}' })
  async missing(symbol: string): Promise<never> {
    this.log.record(`missing:${symbol}`);
    throw new NotFoundException(`no book ${symbol}`);
  }

  @Cacheable({ key: 'price:{0}', tags: ['prices'] })
  async price(symbol: string): Promise<Price | undefined> {
    this.log.record(`price:${symbol}`);
    return this.prices.get(symbol);
  }

  @CachePut({ key: 'price:{0.symbol}', tags: ['prices'] })
  async savePrice(price: Price): Promise<Price> {
    this.log.record(`savePrice:${price.symbol}`);
    this.prices.set(price.symbol, price);
    return price;
  }

  @CacheEvict({ keys: ['price:{0}'] })
  async deletePrice(symbol: string, options: { fail?: boolean } = {}): Promise<void> {
    this.log.record(`deletePrice:${symbol}`);
    if (options.fail) throw new Error(`refused to delete ${symbol}`);
    this.prices.delete(symbol);
  }

  @Cacheable({ key: 'price-list', tags: ['price-lists'] })
  async listPrices(): Promise<Price[]> {
    this.log.record('listPrices');
    return [...this.prices.values()];
  }

  // Puts the new price and drops the lists that contain the old one.
  @CachePut({ key: 'price:{0.symbol}' })
  @CacheEvict({ tags: ['price-lists'] })
  async replacePrice(price: Price): Promise<Price> {
    this.log.record(`replacePrice:${price.symbol}`);
    this.prices.set(price.symbol, price);
    return price;
  }
}

/** One instance provided under two tokens: two provider entries, one object to wrap. */
class PriceFeed {
  constructor(private readonly log: CallLog) {}

  @Cacheable({ key: 'feed:{0}' })
  async last(symbol: string): Promise<number> {
    return this.log.record(`feed:${symbol}`);
  }
}

@Controller('books')
class BooksController {
  constructor(private readonly log: CallLog) {}

  @Get(':symbol')
  @Cacheable({ tags: ['http-book:{0.params.symbol}'] })
  getBook(
    @Param('symbol') symbol: string,
    @Query('depth') depth = '10',
  ): { symbol: string; depth: number; run: number } {
    return { symbol, depth: Number(depth), run: this.log.record(`GET ${symbol}`) };
  }

  @Get(':symbol/levels')
  @Cacheable({ key: 'levels:{0.params.symbol}:{0.query.depth}' })
  async levels(@Param('symbol') symbol: string): Promise<{ symbol: string; run: number }> {
    await sleep(10);
    return { symbol, run: this.log.record(`GET levels ${symbol}`) };
  }

  @Get(':symbol/missing')
  @Cacheable()
  missing(@Param('symbol') symbol: string): never {
    this.log.record(`GET missing ${symbol}`);
    throw new NotFoundException(`no book ${symbol}`);
  }

  @Post('search')
  @Cacheable({ keyFn: ({ body }: CacheRequestArguments) => `search:${JSON.stringify(body)}`, ttlMs: 60_000 })
  async search(@Body() body: { symbol: string; depth: number }): Promise<{ found: string; run: number }> {
    return { found: body.symbol, run: this.log.record(`POST search ${body.symbol}`) };
  }

  @Post('quotes')
  @Cacheable()
  async quotes(@Body() body: { symbols: string[] }): Promise<{ symbols: string[]; run: number }> {
    return { symbols: body.symbols, run: this.log.record(`POST quotes ${body.symbols.join(',')}`) };
  }

  @Put(':symbol/quote')
  @CachePut({ key: 'http-quote:{0.params.symbol}' })
  async putQuote(
    @Param('symbol') symbol: string,
    @Body() body: { value: number },
  ): Promise<{ symbol: string; value: number }> {
    this.log.record(`PUT quote ${symbol}`);
    return { symbol, value: body.value };
  }

  @Delete(':symbol')
  @CacheEvict({ tags: ['http-book:{0.params.symbol}'] })
  remove(@Param('symbol') symbol: string, @Query('fail') fail?: string): { removed: string } {
    this.log.record(`DELETE ${symbol}`);
    if (fail !== undefined) throw new BadRequestException(`cannot remove ${symbol}`);
    return { removed: symbol };
  }
}

async function startApp(
  keyPrefix: string,
  metadata: { providers?: Provider[]; controllers?: Type[] },
  adapter: HttpAdapterName = 'fastify',
): Promise<INestApplication> {
  @Module({
    imports: [
      RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
      CacheModule.forRoot({ ttlJitter: 0, namespaces: { books: {} } }),
    ],
    providers: [CallLog, ...(metadata.providers ?? [])],
    controllers: metadata.controllers ?? [],
  })
  class DecoratedAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [DecoratedAppModule] }).compile();
  return createHttpApp(moduleRef, adapter);
}

/** Deletes the app's keys and closes it (nothing when it never started). */
async function stopApp(app: INestApplication | undefined, keyPrefix: string): Promise<void> {
  if (app === undefined) return;
  await deleteKeys(app.get<RedisConnection>(getRedisConnectionToken()), keyPrefix);
  await app.close();
}

describe('cache decorators', () => {
  const keyPrefix = uniquePrefix('decorators');
  let app: INestApplication;
  let books: BooksService;
  let cache: CacheService;
  let log: CallLog;

  beforeAll(async () => {
    const feed = (calls: CallLog) => new PriceFeed(calls);
    app = await startApp(keyPrefix, {
      providers: [
        BookRepository,
        BooksService,
        { provide: 'BOOKS_ALIAS', useExisting: BooksService },
        { provide: PriceFeed, useFactory: feed, inject: [CallLog] },
        { provide: 'PRICE_FEED_ALIAS', useFactory: (same: PriceFeed) => same, inject: [PriceFeed] },
      ],
      controllers: [BooksController],
    });
    books = app.get(BooksService);
    cache = app.get(CacheService);
    log = app.get(CallLog);
  });

  afterAll(() => stopApp(app, keyPrefix));

  describe('@Cacheable on a provider method', () => {
    it('runs the method once for repeated calls with equal arguments, whatever their object key order', async () => {
      const first = await books.findBook({ symbol: 'BTC-USD', depth: 3 });
      const second = await books.findBook({ depth: 3, symbol: 'BTC-USD' });
      const third = await books.findBook({ symbol: 'BTC-USD', depth: 3 });

      expect(log.count('findBook:BTC-USD')).toBe(1);
      expect(second).toEqual(first);
      expect(third).toEqual(first);
    });

    it('keeps `this` and injected dependencies: the cached value is what the injected repository loaded', async () => {
      const book = await books.findBook({ symbol: 'DI-USD', depth: 2 });

      expect(book).toEqual({ symbol: 'DI-USD', depth: 2, bids: [100, 99] });
      expect(log.count('repository.load:DI-USD')).toBe(1);
    });

    it('runs the method again for different arguments', async () => {
      await books.findBook({ symbol: 'ETH-USD', depth: 3 });
      await books.findBook({ symbol: 'ETH-USD', depth: 4 });
      await books.findBook({ symbol: 'SOL-USD', depth: 3 });

      expect(log.count('findBook:ETH-USD')).toBe(2);
      expect(log.count('findBook:SOL-USD')).toBe(1);
    });

    it('runs the method once for 20 concurrent calls on one cold key', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => books.findBook({ symbol: 'ADA-USD', depth: 5 })),
      );

      expect(log.count('findBook:ADA-USD')).toBe(1);
      expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    });

    it('caches a synchronous method too, which then returns a Promise', async () => {
      const first = (books.spread as (symbol: string) => unknown)('SYNC');
      expect(first).toBeInstanceOf(Promise);
      expect(await first).toBe(0.04);
      expect(await books.spread('SYNC')).toBe(0.04);

      expect(log.count('spread:SYNC')).toBe(1);
    });

    it('uses <ClassName>.<method>: and the encoded arguments as the default key', async () => {
      await books.findBook({ symbol: 'KEY-USD', depth: 1 });

      expect(await cache.get('BooksService.findBook:[{"depth":1,"symbol":"KEY-USD"}]')).toEqual({
        symbol: 'KEY-USD',
        depth: 1,
        bids: [100],
      });
    });

    it('calls straight through, reading and storing nothing, when condition returns false', async () => {
      expect(await books.quote('LIVE-1')).toBe(1);
      expect(await books.quote('LIVE-1')).toBe(2);
      expect(await cache.get('BooksService.quote:["LIVE-1"]')).toBeUndefined();

      expect(await books.quote('CACHED-1')).toBe(1);
      expect(await books.quote('CACHED-1')).toBe(1);
    });

    it('returns a result unless excludes but does not store it, and stores the others', async () => {
      expect(await books.snapshot('PARTIAL-1')).toEqual({ symbol: 'PARTIAL-1', partial: true });
      expect(await books.snapshot('PARTIAL-1')).toEqual({ symbol: 'PARTIAL-1', partial: true });
      expect(log.count('snapshot:PARTIAL-1')).toBe(2);
      expect(await cache.get('snapshot:PARTIAL-1')).toBeUndefined();

      await books.snapshot('FULL-1');
      await books.snapshot('FULL-1');
      expect(log.count('snapshot:FULL-1')).toBe(1);
      expect(await cache.get('snapshot:FULL-1')).toEqual({ symbol: 'FULL-1', partial: false });
    });

    it('runs an unless-method once for concurrent calls on one cold key', async () => {
      await Promise.all(Array.from({ length: 10 }, () => books.snapshot('FULL-2')));

      expect(log.count('snapshot:FULL-2')).toBe(1);
    });

    it('stores under the key its template builds from argument properties', async () => {
      expect(await books.bookAt({ symbol: 'XRP-USD' }, 25)).toBe('XRP-USD@25');
      expect(await books.bookAt({ symbol: 'XRP-USD' }, 25)).toBe('XRP-USD@25');

      expect(log.count('bookAt:XRP-USD:25')).toBe(1);
      expect(await cache.get('book:XRP-USD:25')).toBe('XRP-USD@25');
    });

    it('stores under the key keyFn returns, so calls keyFn maps together share one entry', async () => {
      await books.side('DOT-USD', 'bid');
      expect(await books.side('dot-usd', 'bid')).toBe('DOT-USD bid');

      expect(log.count('side:DOT-USD:bid')).toBe(1);
      expect(log.count('side:dot-usd:bid')).toBe(0);
      expect(await cache.get('side:dot-usd:bid')).toBe('DOT-USD bid');
    });

    it('runs the method again after deleteByTag on one of its tags, templated or fixed', async () => {
      expect(await books.tagged('LTC')).toBe(1);
      expect(await books.tagged('LTC')).toBe(1);

      await cache.deleteByTag('book:LTC');
      expect(await books.tagged('LTC')).toBe(2);

      await cache.deleteByTag('books');
      expect(await books.tagged('LTC')).toBe(3);
    });

    it("rethrows the method's own error, not the cache's wrapper, and caches nothing", async () => {
      const failure = books.missing('NOPE');

      await expect(failure).rejects.toBeInstanceOf(NotFoundException);
      await expect(books.missing('NOPE')).rejects.toThrow('no book NOPE');
      expect(log.count('missing:NOPE')).toBe(2);
    });
  });

  describe('@CachePut and @CacheEvict on provider methods', () => {
    it('@CachePut always runs and stores, so a later @Cacheable read of the key does not run', async () => {
      await books.savePrice({ symbol: 'BNB', value: 1 });
      await books.savePrice({ symbol: 'BNB', value: 2 });

      expect(log.count('savePrice:BNB')).toBe(2);
      expect(await books.price('BNB')).toEqual({ symbol: 'BNB', value: 2 });
      expect(log.count('price:BNB')).toBe(0);
    });

    it('@CacheEvict deletes the key once the method has resolved', async () => {
      await books.savePrice({ symbol: 'AVAX', value: 10 });
      expect(await cache.get('price:AVAX')).toEqual({ symbol: 'AVAX', value: 10 });

      await books.deletePrice('AVAX');

      expect(await cache.get('price:AVAX')).toBeUndefined();
      expect(await books.price('AVAX')).toBeUndefined();
      expect(log.count('price:AVAX')).toBe(1);
    });

    it('@CacheEvict evicts nothing when the method throws', async () => {
      await books.savePrice({ symbol: 'LINK', value: 7 });

      await expect(books.deletePrice('LINK', { fail: true })).rejects.toThrow('refused to delete LINK');

      expect(log.count('deletePrice:LINK')).toBe(1);
      expect(await cache.get('price:LINK')).toEqual({ symbol: 'LINK', value: 7 });
      expect(await books.price('LINK')).toEqual({ symbol: 'LINK', value: 7 });
      expect(log.count('price:LINK')).toBe(0);
    });

    it('@CachePut stacked with @CacheEvict stores the new value and drops the lists tagged for eviction', async () => {
      await books.savePrice({ symbol: 'ATOM', value: 1 });
      expect(await books.listPrices()).toContainEqual({ symbol: 'ATOM', value: 1 });
      expect(log.count('listPrices')).toBe(1);

      await books.replacePrice({ symbol: 'ATOM', value: 5 });

      expect(await books.price('ATOM')).toEqual({ symbol: 'ATOM', value: 5 });
      expect(log.count('price:ATOM')).toBe(0);
      expect(await books.listPrices()).toContainEqual({ symbol: 'ATOM', value: 5 });
      expect(log.count('listPrices')).toBe(2);
    });
  });

  describe('wrapping', () => {
    it('never wraps a method twice, even when module init runs again or one instance has two tokens', async () => {
      const wrapped = books.findBook;
      const feed = app.get(PriceFeed);
      expect(app.get('PRICE_FEED_ALIAS')).toBe(feed);
      expect(app.get('BOOKS_ALIAS')).toBe(books);

      app.get(CacheDecoratorsExplorer).onModuleInit();

      expect(books.findBook).toBe(wrapped);
      // A second @Cacheable wrapper would wait on its own flight for the key: this call would hang.
      expect(await feed.last('ONCE')).toBe(1);
      expect(await feed.last('ONCE')).toBe(1);
      expect(log.count('feed:ONCE')).toBe(1);
    });

    it('leaves the class prototype alone: only the provider instance is wrapped', () => {
      expect(Object.hasOwn(books, 'findBook')).toBe(true);
      expect(BooksService.prototype.findBook).not.toBe(books.findBook);
    });
  });
});

describe.each(HTTP_ADAPTERS)('cache decorators on controller routes on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`decoratorroutes${adapter}`);
  let app: INestApplication;
  let cache: CacheService;
  let log: CallLog;

  beforeAll(async () => {
    app = await startApp(keyPrefix, { controllers: [BooksController] }, adapter);
    cache = app.get(CacheService);
    log = app.get(CallLog);
  });

  afterAll(() => stopApp(app, keyPrefix));

  it('@Cacheable on a GET route runs the handler once for equal requests, whatever the query order', async () => {
    const server = app.getHttpServer();
    const first = await request(server).get('/books/BTC?depth=5&side=bid');
    const second = await request(server).get('/books/BTC?side=bid&depth=5');

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ symbol: 'BTC', depth: 5, run: 1 });
    expect(log.count('GET BTC')).toBe(1);

    const other = await request(server).get('/books/BTC?depth=6');
    expect(other.body).toEqual({ symbol: 'BTC', depth: 6, run: 2 });
  });

  it('keys a GET route by a template over { params, query, body }, once for concurrent equal requests', async () => {
    const server = app.getHttpServer();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => request(server).get('/books/ETH/levels?depth=20')),
    );

    expect(responses.map((response) => response.body)).toEqual(
      Array.from({ length: 5 }, () => ({ symbol: 'ETH', run: 1 })),
    );
    expect(log.count('GET levels ETH')).toBe(1);
    expect(await cache.get('levels:ETH:20')).toEqual({ symbol: 'ETH', run: 1 });
  });

  it('runs the handler uncached, rather than failing, when the key template lacks a query parameter', async () => {
    const server = app.getHttpServer();
    const first = await request(server).get('/books/DOGE/levels');
    const second = await request(server).get('/books/DOGE/levels');

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body).toEqual({ symbol: 'DOGE', run: 2 });
  });

  it('@Cacheable on a POST route runs the handler once for two equal requests', async () => {
    const server = app.getHttpServer();
    const first = await request(server).post('/books/search').send({ symbol: 'SOL', depth: 10 });
    const second = await request(server).post('/books/search').send({ symbol: 'SOL', depth: 10 });

    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual({ found: 'SOL', run: 1 });
    expect(log.count('POST search SOL')).toBe(1);
  });

  it('keys a POST route by its body by default, whatever the body key order', async () => {
    const server = app.getHttpServer();
    await request(server)
      .post('/books/quotes')
      .set('content-type', 'application/json')
      .send('{"symbols":["A","B"],"at":1}');
    const again = await request(server)
      .post('/books/quotes')
      .set('content-type', 'application/json')
      .send('{"at":1,"symbols":["A","B"]}');
    const other = await request(server)
      .post('/books/quotes')
      .send({ symbols: ['A', 'C'] });

    expect(again.body).toEqual({ symbols: ['A', 'B'], run: 1 });
    expect(log.count('POST quotes A,B')).toBe(1);
    expect(other.body).toEqual({ symbols: ['A', 'C'], run: 1 });
  });

  it("answers with the handler's HTTP error, not a 500, and caches nothing", async () => {
    const server = app.getHttpServer();
    const first = await request(server).get('/books/NONE/missing');
    const second = await request(server).get('/books/NONE/missing');

    expect(first.status).toBe(404);
    expect(second.status).toBe(404);
    expect(log.count('GET missing NONE')).toBe(2);
  });

  it('@CacheEvict on a DELETE route evicts after success, and nothing when the handler fails', async () => {
    const server = app.getHttpServer();
    await request(server).get('/books/XRP?depth=1');
    await request(server).get('/books/XRP?depth=2');
    expect(log.count('GET XRP')).toBe(2);

    const refused = await request(server).delete('/books/XRP?fail=1');
    expect(refused.status).toBe(400);
    expect((await request(server).get('/books/XRP?depth=1')).body.run).toBe(1);
    expect(log.count('GET XRP')).toBe(2);

    const removed = await request(server).delete('/books/XRP');
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ removed: 'XRP' });
    expect((await request(server).get('/books/XRP?depth=1')).body.run).toBe(3);
    expect((await request(server).get('/books/XRP?depth=2')).body.run).toBe(4);
  });

  it('@CachePut on a PUT route stores what the handler returned, every time', async () => {
    const server = app.getHttpServer();
    await request(server).put('/books/TRX/quote').send({ value: 1 });
    const second = await request(server).put('/books/TRX/quote').send({ value: 2 });

    expect(second.body).toEqual({ symbol: 'TRX', value: 2 });
    expect(log.count('PUT quote TRX')).toBe(2);
    expect(await cache.get('http-quote:TRX')).toEqual({ symbol: 'TRX', value: 2 });
  });

  it('puts no interceptor on decorated routes (Nest runs them without RxJS) and asks for one hidden argument however many cache decorators', () => {
    class Routes {
      plain(): void {}
      @CachePut({ key: 'stacked' })
      @CacheEvict({ keys: ['other'] })
      @CacheEvict({ keys: ['third'] })
      stacked(@Param('id') _id: string, _unused?: string): void {}
    }
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, Routes.prototype.stacked)).toBeUndefined();
    const routeArgs = Reflect.getMetadata(ROUTE_ARGS_METADATA, Routes, 'stacked') as Record<
      string,
      { index: number }
    >;
    expect(
      Object.values(routeArgs)
        .map(({ index }) => index)
        .sort(),
    ).toEqual([0, 2]);
    expect(Reflect.getMetadata(ROUTE_ARGS_METADATA, Routes, 'plain')).toBeUndefined();
    expect(Reflect.getMetadata(CACHE_EVICT_METADATA, Routes.prototype.stacked)).toHaveLength(2);
  });

  it('runs a decorated controller method called without the route argument (an internal call) as it is', async () => {
    const controller = app.get(BooksController);
    const before = log.count('GET XRP');
    await controller.getBook('XRP', '1');
    await controller.getBook('XRP', '1');
    expect(log.count('GET XRP') - before).toBe(2);
  });

  it('does not wrap controller instances (routes hold the original handlers)', () => {
    const controller = app.get(BooksController);
    expect(Object.hasOwn(controller, 'getBook')).toBe(false);
  });
});

describe('cache decorator options', () => {
  const keyPrefix = uniquePrefix('decoratoroptions');

  it('fail at startup when key and keyFn are both given', async () => {
    @Injectable()
    class BothKeys {
      @Cacheable({ key: 'a:{0}', keyFn: (id: string) => `a:${id}` })
      async find(id: string): Promise<string> {
        return id;
      }
    }
    const failure = await startApp(keyPrefix, { providers: [BothKeys] }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(CacheDecoratorError);
    expect((failure as CacheDecoratorError).message).toBe(
      '@Cacheable on BothKeys.find: option "key" and "keyFn" cannot both be given',
    );
  });

  it('fail at startup when @Cacheable and @CachePut share a method', async () => {
    @Injectable()
    class ReadAndWrite {
      @Cacheable()
      @CachePut()
      async find(id: string): Promise<string> {
        return id;
      }
    }

    await expect(startApp(keyPrefix, { providers: [ReadAndWrite] })).rejects.toThrow(
      '@Cacheable on ReadAndWrite.find: option "@CachePut" cannot be combined with @Cacheable',
    );
  });

  it('fail at startup on a namespace CacheModule does not configure, on a controller too', async () => {
    @Controller('unknown')
    class UnknownNamespaceController {
      @Get()
      @Cacheable({ namespace: 'nope' })
      list(): string[] {
        return [];
      }
    }

    await expect(startApp(keyPrefix, { controllers: [UnknownNamespaceController] })).rejects.toThrow(
      '@Cacheable on UnknownNamespaceController.list: option "namespace" names no namespace configured in CacheModule (default, books), got nope',
    );
  });

  it('warn about and skip request-scoped providers, which have no single instance to wrap', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequestBooks {
      @Cacheable()
      async find(id: string): Promise<string> {
        return id;
      }
    }
    const logs = await captureLogs(async () => {
      const app = await startApp(keyPrefix, { providers: [PerRequestBooks] });
      await app.close();
    });

    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining('PerRequestBooks is request-scoped'),
      }),
    );
  });
});
