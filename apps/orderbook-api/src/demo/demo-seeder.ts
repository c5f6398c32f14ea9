import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';

import type { AppConfig } from '../app.config.js';
import { APP_CONFIG } from '../app.constants.js';
import { ExchangeService } from '../exchange/exchange.service.js';
import type { BookLevel } from '../exchange/exchange.types.js';
import { MarketRegistry } from '../markets/market.registry.js';

/** Demo books: a mid price, the step between levels, and the quantities of five levels per side. */
const DEMO_BOOKS: Record<string, { mid: number; step: number; quantities: string[] }> = {
  'BTC-USD': { mid: 64_250, step: 0.5, quantities: ['0.25', '0.5', '1', '1.5', '2.25'] },
  'ETH-USD': { mid: 3_400, step: 0.25, quantities: ['2', '4.5', '8', '12', '20'] },
};

function levels(mid: number, step: number, quantities: string[], direction: 1 | -1): BookLevel[] {
  // Prices are built in cents as integers, then written with two decimals: no float in the output.
  return quantities.map((quantity, index) => {
    const cents = Math.round(mid * 100) + direction * Math.round(step * 100) * (index + 1);
    return { price: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`, quantity };
  });
}

/**
 * With `demo` on (DEMO=1, `npm start -- --demo`), gives the first two markets a few levels each at
 * startup, so that a new user sees a book at once. Markets that already have resting orders are
 * left alone, so restarting does not wipe what was traded.
 */
@Injectable()
export class DemoSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('DemoSeeder');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly markets: MarketRegistry,
    private readonly exchange: ExchangeService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.demo) return;
    for (const market of this.markets.all().slice(0, 2)) {
      const demo = DEMO_BOOKS[market.symbol] ?? { mid: 100, step: 1, quantities: ['1', '2', '3', '4', '5'] };
      if (await this.exchange.hasRestingOrders(market.symbol)) {
        this.logger.log(`${market.symbol} has resting orders already; not seeded`);
        continue;
      }
      const result = await this.exchange.importBook(market.symbol, {
        bids: levels(demo.mid, demo.step, demo.quantities, -1),
        asks: levels(demo.mid, demo.step, demo.quantities, 1),
      });
      this.logger.log(`seeded ${market.symbol}: ${result.bidLevels} bids, ${result.askLevels} asks`);
    }
  }
}
