import type { MarketDefinition } from '../../src/markets/market.js';

/** Markets of the e2e tests: one per test, so that tests do not see each other's orders. */
export function testMarkets(...symbols: string[]): MarketDefinition[] {
  return symbols.map((symbol) => ({
    symbol,
    tickSize: '0.01',
    lotSize: '0.001',
    maxPrice: '1000000',
    maxQuantity: '100000',
  }));
}
