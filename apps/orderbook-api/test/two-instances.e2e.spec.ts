import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';

import { RedisServer } from '../../../test/harness/index.js';
import { ExchangeService } from '../src/exchange/exchange.service.js';
import type { Order } from '../src/exchange/exchange.types.js';
import { MarketRegistry } from '../src/markets/market.registry.js';
import { testMarkets } from './support/markets.js';
import { replay, type ReplayOrder } from './support/replay.js';
import { clientAddress, HTTP_ADAPTERS, startTestApp } from './support/test-app.js';

const SYMBOL = 'RACE-USD';
const ORDERS = 500;
const IN_FLIGHT = 64;

/** A small deterministic generator, so that a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('orderbook-api on two instances (Fastify and Express)', () => {
  let server: RedisServer;
  let apps: INestApplication[];

  beforeAll(async () => {
    server = await RedisServer.start();
    // Two Nest apps, each with its own Redis connections, lock service, cache and event bus: one on
    // Fastify, one on Express, as a deployment in the middle of switching adapters would run.
    apps = [];
    for (const httpAdapter of HTTP_ADAPTERS) {
      apps.push(
        await startTestApp(server.url, { trustProxy: true, markets: testMarkets(SYMBOL), httpAdapter }),
      );
    }
  });

  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    await server?.stop();
  });

  it('matches 500 random crossing orders placed concurrently through both: no overfill, bought = sold, book = replay', async () => {
    const next = random(20261123);
    const bodies = Array.from({ length: ORDERS }, () => ({
      side: next() < 0.5 ? 'buy' : 'sell',
      // Prices 98.00-102.00 in steps of 0.25 around one mid, so most orders cross something.
      price: (98 + Math.floor(next() * 17) * 0.25).toFixed(2),
      quantity: (0.001 * (1 + Math.floor(next() * 3000))).toFixed(3),
    }));

    const placed: Order[] = [];
    let cursor = 0;
    const worker = async (): Promise<void> => {
      while (cursor < bodies.length) {
        const index = cursor++;
        const app = apps[index % 2] as INestApplication;
        const place = () =>
          request(app.getHttpServer())
            .post(`/markets/${SYMBOL}/orders`)
            .set('x-forwarded-for', clientAddress())
            .send(bodies[index]);
        let response = await place();
        // "Busy, retry" is the API's answer when the market's lock wait runs out (a loaded machine):
        // nothing was written, so the client retries, as a real one would after Retry-After.
        for (let retry = 0; retry < 3 && response.status === 503; retry += 1) {
          expect(response.body.message).toMatch(/market is busy/);
          response = await place();
        }
        expect(response.status).toBe(201);
        placed.push(response.body.order as Order);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(placed).toHaveLength(ORDERS);

    const read = (app: INestApplication, path: string) =>
      request(app.getHttpServer()).get(path).set('x-forwarded-for', clientAddress()).expect(200);
    // Every trade (the route returns at most 1,000; the market keeps 10,000), newest first.
    const trades = await (apps[0] as INestApplication).get(ExchangeService).listTrades(SYMBOL, 10_000);
    expect(trades.length).toBeGreaterThan(50);
    expect(trades.length).toBeLessThan(10_000);

    const market = (apps[0] as INestApplication).get(MarketRegistry).get(SYMBOL);
    const lots = (text: string): bigint => (text === '0' ? 0n : market.quantityLots(text));
    const ticks = (text: string): bigint => market.priceTicks(text);

    // Final state of every order, read back through the other instance.
    const finals = new Map<string, Order>();
    for (const order of placed) {
      finals.set(
        order.id,
        (await read(apps[1] as INestApplication, `/markets/${SYMBOL}/orders/${order.id}`)).body,
      );
    }
    const filledByTrades = new Map<string, bigint>();
    let traded = 0n;
    for (const trade of trades) {
      const quantity = lots(trade.quantity);
      traded += quantity;
      for (const id of [trade.makerOrderId, trade.takerOrderId]) {
        filledByTrades.set(id, (filledByTrades.get(id) ?? 0n) + quantity);
      }
      // The trade is at the resting order's price, and the resting order came first.
      const maker = finals.get(trade.makerOrderId) as Order;
      expect(trade.price).toBe(maker.price);
      expect(BigInt(trade.makerOrderId)).toBeLessThan(BigInt(trade.takerOrderId));
    }
    let bought = 0n;
    let sold = 0n;
    for (const order of finals.values()) {
      const filled = lots(order.filledQuantity);
      expect(filled).toBeLessThanOrEqual(lots(order.quantity));
      expect(filled).toBe(filledByTrades.get(order.id) ?? 0n);
      if (order.side === 'buy') bought += filled;
      else sold += filled;
    }
    expect(bought).toBe(sold);
    expect(bought).toBe(traded);

    // Replaying the orders in id order (the order the engine took them in) gives the same trades...
    const orders: ReplayOrder[] = [...finals.values()]
      .map((order) => ({
        id: BigInt(order.id),
        side: order.side,
        price: ticks(order.price),
        quantity: lots(order.quantity),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const expected = replay(orders);
    const actualTrades = [...trades].reverse().map((trade) => ({
      makerOrderId: BigInt(trade.makerOrderId),
      takerOrderId: BigInt(trade.takerOrderId),
      price: ticks(trade.price),
      quantity: lots(trade.quantity),
    }));
    expect(actualTrades).toEqual(expected.trades);

    // ...and the same book, read from both instances (one through its cache, one fresh).
    const level = ([price, quantity]: [bigint, bigint]) => ({
      price: market.tick.format(price),
      quantity: market.lot.format(quantity),
    });
    const expectedBids = [...expected.bids].sort((a, b) => (a[0] > b[0] ? -1 : 1)).map(level);
    const expectedAsks = [...expected.asks].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(level);
    for (const app of apps) {
      const book = (await read(app, `/markets/${SYMBOL}/book?depth=500`)).body;
      expect(book.bids).toEqual(expectedBids);
      expect(book.asks).toEqual(expectedAsks);
    }
    // 8 s alone; three Node lines side by side on two cores have taken over 30.
  }, 120_000);
});
