import { DecimalGrid, decimalProblem } from './decimal.js';

/** One market as configured: its symbol and the grids of its prices and quantities. */
export interface MarketDefinition {
  /** `BASE-QUOTE`, such as `BTC-USD`. */
  symbol: string;
  /** Price step in the quote currency, such as `"0.01"`. */
  tickSize: string;
  /** Quantity step in the base currency, such as `"0.00000001"`. */
  lotSize: string;
  /** Largest price an order may carry. */
  maxPrice: string;
  /** Largest quantity one order may carry. */
  maxQuantity: string;
}

/** The markets the API serves unless configured otherwise. */
export const DEFAULT_MARKETS: readonly MarketDefinition[] = Object.freeze([
  { symbol: 'BTC-USD', tickSize: '0.01', lotSize: '0.00000001', maxPrice: '10000000', maxQuantity: '1000' },
  { symbol: 'ETH-USD', tickSize: '0.01', lotSize: '0.0001', maxPrice: '1000000', maxQuantity: '100000' },
]);

/** Most units (ticks or lots) a value may take: sums of many stay exact in Lua's doubles. */
const MAX_UNITS = 10n ** 13n;

/** A field of a request and why its value is refused; the HTTP layer answers 400 with it. */
export class InvalidFieldError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
    this.name = 'InvalidFieldError';
  }
}

/** A configured market with its grids resolved: turns wire decimals into integer ticks and lots. */
export class Market {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tick: DecimalGrid;
  readonly lot: DecimalGrid;
  private readonly maxPriceTicks: bigint;
  private readonly maxQuantityLots: bigint;

  constructor(readonly definition: MarketDefinition) {
    const { symbol } = definition;
    if (!/^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/.test(symbol)) {
      throw new Error(`market symbol ${JSON.stringify(symbol)} must look like BASE-QUOTE (A-Z 0-9)`);
    }
    this.symbol = symbol;
    [this.base, this.quote] = symbol.split('-') as [string, string];
    this.tick = new DecimalGrid(definition.tickSize);
    this.lot = new DecimalGrid(definition.lotSize);
    const maxPrice = this.tick.unitsOf(definition.maxPrice);
    const maxQuantity = this.lot.unitsOf(definition.maxQuantity);
    if (maxPrice === undefined || maxPrice > MAX_UNITS || maxPrice < 1n) {
      throw new Error(`market ${symbol}: maxPrice must be a multiple of the tick size, at most 10^13 ticks`);
    }
    if (maxQuantity === undefined || maxQuantity > MAX_UNITS || maxQuantity < 1n) {
      throw new Error(`market ${symbol}: maxQuantity must be a multiple of the lot size, at most 10^13 lots`);
    }
    this.maxPriceTicks = maxPrice;
    this.maxQuantityLots = maxQuantity;
  }

  /** Whole ticks of a price string; throws {@link InvalidFieldError} naming `field`. */
  priceTicks(text: unknown, field = 'price'): bigint {
    return this.units(text, field, this.tick, this.maxPriceTicks, 'tick size', this.definition.maxPrice);
  }

  /** Whole lots of a quantity string; throws {@link InvalidFieldError} naming `field`. */
  quantityLots(text: unknown, field = 'quantity'): bigint {
    return this.units(text, field, this.lot, this.maxQuantityLots, 'lot size', this.definition.maxQuantity);
  }

  private units(
    text: unknown,
    field: string,
    grid: DecimalGrid,
    max: bigint,
    gridName: string,
    maxText: string,
  ): bigint {
    const problem = decimalProblem(text);
    if (problem !== undefined) throw new InvalidFieldError(field, problem);
    const units = grid.unitsOf(text as string);
    if (units === undefined) {
      throw new InvalidFieldError(
        field,
        `must be a multiple of the ${gridName} ${grid.step} of ${this.symbol}`,
      );
    }
    if (units < 1n) throw new InvalidFieldError(field, 'must be above 0');
    if (units > max) throw new InvalidFieldError(field, `must be at most ${maxText} on ${this.symbol}`);
    return units;
  }
}
