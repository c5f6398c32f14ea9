// The sample API as the app benchmark runs it (bench/app/server.ts imports this only for an API
// process): createApp on the spec's adapter, BTC-USD seeded, listening on a free loopback port.
import { OrderBookStore } from '@redkit/orderbook';

import { createApp } from '../../apps/orderbook-api/src/app.factory.js';
import { ExchangeService } from '../../apps/orderbook-api/src/exchange/exchange.service.js';
import { loopbackUrl, type RunningServer } from './bare-servers.js';
import { SEEDED_LEVELS, type ServerSpec } from './protocol.js';

/** The sample API on its adapter, BTC-USD seeded with SEEDED_LEVELS levels per side around 64,000. */
export async function startApi(spec: Extract<ServerSpec, { kind: 'api' }>): Promise<RunningServer> {
  const app = await createApp(
    {
      redisUrl: spec.redisUrl,
      host: '127.0.0.1',
      port: 0,
      rateLimits: spec.rateLimits,
      trustProxy: spec.trustProxy,
      httpAdapter: spec.adapter,
    },
    ['error'],
  );
  try {
    const bids = [];
    const asks = [];
    for (let level = 1; level <= SEEDED_LEVELS; level += 1) {
      bids.push({ price: String(64_000 - level), quantity: `${level}.125` });
      asks.push({ price: String(64_000 + level), quantity: `${level}.25` });
    }
    await app.get(ExchangeService).importBook('BTC-USD', { bids, asks });
    // The import evicted the cached book; read it once so that the store's own state is warm too.
    await app.get(OrderBookStore).getSnapshot('BTC-USD', 20);
    await app.listen(0, '127.0.0.1');
    return { url: await loopbackUrl(app), close: () => app.close() };
  } catch (error) {
    await app.close();
    throw error;
  }
}
