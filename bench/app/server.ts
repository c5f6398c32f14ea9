// The process the app benchmark measures (forked by bench/app.bench.ts, so that autocannon's load
// generation does not share its event loop): the sample API (its TypeScript compiled with the same
// swc configuration as `npm start`'s build) with one extra route, GET /bare, a handler returning a
// constant (the depth-20 book, read once); and a bare Nest app with only that handler. Both listen on free loopback ports, sent to
// the parent once the order book is seeded.
import 'reflect-metadata';

import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OrderBookStore } from '@redkit/orderbook';

import { createApp } from '../../apps/orderbook-api/src/app.factory.js';
import { ExchangeService } from '../../apps/orderbook-api/src/exchange/exchange.service.js';

/** Levels per side of the seeded book: reads take the top 20 of them. */
const SEEDED_LEVELS = 200;

/**
 * What the bare handler returns: the book the cached route answers with (read once at startup), so
 * both send the same bytes and autocannon, which shares the machine, parses the same answers.
 */
let constantBody: unknown = { ok: true };

@Controller()
class BareController {
  @Get('bare')
  bare(): unknown {
    return constantBody;
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

async function main(): Promise<void> {
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (!redisUrl) throw new Error('BENCH_REDIS_URL is not set');
  // Rate limits off: the guard's Redis round trip would be what the book routes measure.
  // The constant handler inside the API: its global cache interceptor, validation pipe and
  // exception filter apply to it as to the book route.
  const app = await createApp(
    { redisUrl, host: '127.0.0.1', port: 0, rateLimits: false },
    ['error'],
    [BareController],
  );
  await app.listen(0, '127.0.0.1');
  const bids = [];
  const asks = [];
  for (let level = 1; level <= SEEDED_LEVELS; level += 1) {
    bids.push({ price: String(64_000 - level), quantity: `${level}.125` });
    asks.push({ price: String(64_000 + level), quantity: `${level}.25` });
  }
  await app.get(ExchangeService).importBook('BTC-USD', { bids, asks });
  constantBody = await app.get(OrderBookStore).getSnapshot('BTC-USD', 20);

  const bare = await NestFactory.create(BareModule, { logger: ['error'] });
  await bare.listen(0, '127.0.0.1');

  const url = async (server: typeof app): Promise<string> =>
    (await server.getUrl()).replace('[::1]', '127.0.0.1');
  process.send?.({ api: await url(app), bare: await url(bare) });
  // The benchmark asks for this process's CPU time around each run: CPU per request is what load
  // elsewhere on the machine disturbs least.
  process.on('message', (message) => {
    if (message !== 'cpu') return;
    const usage = process.cpuUsage();
    process.send?.({ cpuMicros: usage.user + usage.system });
  });
  process.on('disconnect', () => {
    void Promise.all([app.close(), bare.close()]).finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(`bench app server failed: ${String((error as Error)?.stack ?? error)}`);
  process.exit(1);
});
