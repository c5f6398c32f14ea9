import { InvalidFieldError, Market, type MarketDefinition } from './market.js';

/** The configured markets, looked up by symbol; an unknown symbol is a 400 naming `symbol`. */
export class MarketRegistry {
  private readonly bySymbol = new Map<string, Market>();

  constructor(definitions: readonly MarketDefinition[]) {
    for (const definition of definitions) {
      if (this.bySymbol.has(definition.symbol))
        throw new Error(`market ${definition.symbol} is configured twice`);
      this.bySymbol.set(definition.symbol, new Market(definition));
    }
    if (this.bySymbol.size === 0) throw new Error('at least one market must be configured');
  }

  /** Every market, in configuration order. */
  all(): Market[] {
    return [...this.bySymbol.values()];
  }

  /** The market of `symbol`; throws {@link InvalidFieldError} (`symbol`) when there is none. */
  get(symbol: unknown): Market {
    const market = typeof symbol === 'string' ? this.bySymbol.get(symbol) : undefined;
    if (market === undefined) {
      throw new InvalidFieldError(
        'symbol',
        `must be one of the markets ${[...this.bySymbol.keys()].join(', ')}, got ${JSON.stringify(String(symbol).slice(0, 64))}`,
      );
    }
    return market;
  }
}
