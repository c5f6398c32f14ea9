import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FencedOutError } from '@redkit/lock';
import request from 'supertest';

import { RedisServer } from '../../../test/harness/index.js';
import { ExchangeService } from '../src/exchange/exchange.service.js';
import { MarketRegistry } from '../src/markets/market.registry.js';
import { testMarkets } from './support/markets.js';
import { clientAddress, HTTP_ADAPTERS, startTestApp, TEST_ADMIN_KEY } from './support/test-app.js';

describe.each(HTTP_ADAPTERS)('orderbook-api matching on %s', (httpAdapter) => {
  let server: RedisServer;
  let app: INestApplication;

  const place = (symbol: string, body: object) =>
    request(app.getHttpServer())
      .post(`/markets/${symbol}/orders`)
      .set('x-forwarded-for', clientAddress())
      .send(body);
  const get = (path: string) =>
    request(app.getHttpServer()).get(path).set('x-forwarded-for', clientAddress());

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await startTestApp(server.url, {
      httpAdapter,
      trustProxy: true,
      markets: testMarkets('PT-USD', 'CACHE-USD', 'IDEM-USD', 'CANCEL-USD', 'FENCE-USD', 'IMPORT-USD'),
    });
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('trades crossing orders at the resting price in price-time order and rests what is left', async () => {
    const a = (await place('PT-USD', { side: 'sell', price: '101', quantity: '1' }).expect(201)).body.order;
    const b = (await place('PT-USD', { side: 'sell', price: '100.00', quantity: '1' }).expect(201)).body
      .order;
    const c = (await place('PT-USD', { side: 'sell', price: '100', quantity: '2' }).expect(201)).body.order;
    const d = (await place('PT-USD', { side: 'sell', price: '102', quantity: '1' }).expect(201)).body.order;
    expect(b.price).toBe('100');

    // Best price first (b, then c: same price, b arrived first), then a; each at the resting price.
    const taker = await place('PT-USD', { side: 'buy', price: '101.5', quantity: '3.5' }).expect(201);
    expect(taker.body.order).toMatchObject({
      status: 'filled',
      filledQuantity: '3.5',
      remainingQuantity: '0',
    });
    expect(
      taker.body.trades.map((trade: { makerOrderId: string; price: string; quantity: string }) => [
        trade.makerOrderId,
        trade.price,
        trade.quantity,
      ]),
    ).toEqual([
      [b.id, '100', '1'],
      [c.id, '100', '2'],
      [a.id, '101', '0.5'],
    ]);

    // a keeps 0.5 resting; the next buy takes it, and its own remainder rests below d's price.
    const second = await place('PT-USD', { side: 'buy', price: '101.5', quantity: '2' }).expect(201);
    expect(second.body.trades).toEqual([
      expect.objectContaining({ makerOrderId: a.id, price: '101', quantity: '0.5', takerSide: 'buy' }),
    ]);
    expect(second.body.order).toMatchObject({
      status: 'partially_filled',
      filledQuantity: '0.5',
      remainingQuantity: '1.5',
    });

    expect((await get(`/markets/PT-USD/orders/${a.id}`).expect(200)).body).toMatchObject({
      status: 'filled',
      filledQuantity: '1',
    });
    expect((await get(`/markets/PT-USD/orders/${c.id}`).expect(200)).body.status).toBe('filled');
    expect((await get(`/markets/PT-USD/orders/${d.id}`).expect(200)).body).toMatchObject({
      status: 'open',
      remainingQuantity: '1',
    });

    const book = (await get('/markets/PT-USD/book?depth=10').expect(200)).body;
    expect(book.bids).toEqual([{ price: '101.5', quantity: '1.5' }]);
    expect(book.asks).toEqual([{ price: '102', quantity: '1' }]);
    expect(book.sequence).toBeGreaterThan(0);
    expect(typeof book.checksum).toBe('number');

    const trades = (await get('/markets/PT-USD/trades?limit=10').expect(200)).body;
    expect(
      trades.map((trade: { price: string; quantity: string }) => `${trade.quantity}@${trade.price}`),
    ).toEqual(['0.5@101', '0.5@101', '2@100', '1@100']);
  });

  it('serves the book and ticker from the cache, and changes both on the next request after a trade', async () => {
    await place('CACHE-USD', { side: 'sell', price: '50', quantity: '3' }).expect(201);
    await place('CACHE-USD', { side: 'buy', price: '49', quantity: '1' }).expect(201);
    const before = (await get('/markets/CACHE-USD/book').expect(200)).body;
    const tickerBefore = (await get('/markets/CACHE-USD/ticker').expect(200)).body;
    expect(tickerBefore).toMatchObject({ bestAsk: { price: '50', quantity: '3' }, lastTrade: null });

    const hits = async (): Promise<number> => {
      const text = (await get('/metrics').expect(200)).text;
      return text
        .split('\n')
        .filter((line) => line.startsWith('redkit_cache_hits_total{'))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    };
    const hitsBefore = await hits();
    expect((await get('/markets/CACHE-USD/book').expect(200)).body).toEqual(before);
    expect((await get('/markets/CACHE-USD/ticker').expect(200)).body).toEqual(tickerBefore);
    expect(await hits()).toBeGreaterThanOrEqual(hitsBefore + 2);

    await place('CACHE-USD', { side: 'buy', price: '50', quantity: '1' }).expect(201);

    const after = (await get('/markets/CACHE-USD/book').expect(200)).body;
    expect(after.sequence).toBeGreaterThan(before.sequence);
    expect(after.asks).toEqual([{ price: '50', quantity: '2' }]);
    const tickerAfter = (await get('/markets/CACHE-USD/ticker').expect(200)).body;
    expect(tickerAfter.bestAsk).toEqual({ price: '50', quantity: '2' });
    expect(tickerAfter.lastTrade).toMatchObject({ price: '50', quantity: '1', takerSide: 'buy' });
  });

  it('returns the original order for a repeated clientOrderId and refuses it for a different order', async () => {
    const first = await place('IDEM-USD', {
      side: 'buy',
      price: '10',
      quantity: '1',
      clientOrderId: 'abc-1',
    }).expect(201);
    const again = await place('IDEM-USD', {
      side: 'buy',
      price: '10.00',
      quantity: '1.000',
      clientOrderId: 'abc-1',
    }).expect(200);
    expect(again.body.duplicate).toBe(true);
    expect(again.body.order).toEqual(first.body.order);
    const conflict = await place('IDEM-USD', {
      side: 'buy',
      price: '10',
      quantity: '2',
      clientOrderId: 'abc-1',
    }).expect(409);
    expect(conflict.body.message).toContain('abc-1');
    const book = (await get('/markets/IDEM-USD/book').expect(200)).body;
    expect(book.bids).toEqual([{ price: '10', quantity: '1' }]);
  });

  it('cancels a resting order once: 409 after, 404 for an unknown order, 400 for a malformed id', async () => {
    const order = (await place('CANCEL-USD', { side: 'sell', price: '7', quantity: '4' }).expect(201)).body
      .order;
    const cancel = () =>
      request(app.getHttpServer())
        .delete(`/markets/CANCEL-USD/orders/${order.id}`)
        .set('x-forwarded-for', clientAddress());
    expect((await cancel().expect(200)).body).toMatchObject({ status: 'cancelled', remainingQuantity: '0' });
    await cancel().expect(409);
    expect((await get('/markets/CANCEL-USD/book').expect(200)).body.asks).toEqual([]);
    await get('/markets/CANCEL-USD/orders/123456').expect(404);
    const bad = await get('/markets/CANCEL-USD/orders/abc').expect(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'id' })]);
  });

  it('refuses a match whose lock holder carries a stale fencing token, writing nothing', async () => {
    await place('FENCE-USD', { side: 'sell', price: '5', quantity: '1' }).expect(201);
    const exchange = app.get(ExchangeService);
    const market = app.get(MarketRegistry).get('FENCE-USD');
    const order = exchange.checkOrder(market, { side: 'buy', price: '5', quantity: '1' });
    await expect(exchange.placeWithFence(market, order, 1)).rejects.toBeInstanceOf(FencedOutError);
    const book = (await get('/markets/FENCE-USD/book').expect(200)).body;
    expect(book.asks).toEqual([{ price: '5', quantity: '1' }]);
    expect((await get('/markets/FENCE-USD/trades').expect(200)).body).toEqual([]);
  });

  it('imports a book with the admin key only, replacing resting orders, and names a bad level', async () => {
    const resting = (await place('IMPORT-USD', { side: 'buy', price: '1', quantity: '1' }).expect(201)).body
      .order;
    const put = (body: object, key?: string) => {
      const call = request(app.getHttpServer())
        .put('/markets/IMPORT-USD/book')
        .set('x-forwarded-for', clientAddress());
      return (key === undefined ? call : call.set('x-api-key', key)).send(body);
    };
    const book = {
      bids: [
        { price: '99.5', quantity: '2' },
        { price: '99', quantity: '3' },
      ],
      asks: [{ price: '100.5', quantity: '1' }],
    };
    await put(book).expect(401);
    await put(book, 'wrong-key-123').expect(401);
    const imported = await put(book, TEST_ADMIN_KEY).expect(200);
    expect(imported.body).toMatchObject({ bidLevels: 2, askLevels: 1, cancelledOrders: 1 });
    expect((await get(`/markets/IMPORT-USD/orders/${resting.id}`).expect(200)).body.status).toBe('cancelled');
    const read = (await get('/markets/IMPORT-USD/book').expect(200)).body;
    expect(read.bids).toEqual(book.bids);
    expect(read.asks).toEqual(book.asks);

    const crossed = await put(
      { bids: [{ price: '101', quantity: '1' }], asks: [{ price: '100', quantity: '1' }] },
      TEST_ADMIN_KEY,
    ).expect(400);
    expect(crossed.body.errors[0].field).toBe('asks');
    const offGrid = await put(
      {
        bids: [
          { price: '1', quantity: '1' },
          { price: '1.001', quantity: '1' },
        ],
        asks: [],
      },
      TEST_ADMIN_KEY,
    ).expect(400);
    expect(offGrid.body.errors[0]).toEqual({
      field: 'bids[1].price',
      reason: expect.stringContaining('tick size'),
    });
  });
});
