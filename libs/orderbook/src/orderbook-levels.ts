import { parseDecimal, ticksOf } from './decimal.js';
import { InvalidLevelError, OrderBookValidationError } from './orderbook.errors.js';
import type { ResolvedSymbolOptions } from './orderbook-options.validator.js';

/** One price level on the wire: exact decimal strings. A quantity is the level's whole size. */
export interface OrderBookLevel {
  price: string;
  quantity: string;
}

/** A side of a write, checked and encoded for the scripts. */
export interface EncodedSide {
  /** `ticks, member` pairs, flat: `member` is `price:quantity`, or `''` to remove the level. */
  args: string[];
  /** Levels in `args`. */
  count: number;
  /** Highest and lowest tick of the levels that add or update (not removals); -1 when none. */
  maxTicks: number;
  minTicks: number;
  maxPrice: string;
  minPrice: string;
}

const MAX_TICKS = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Checks one side of a snapshot or delta and encodes it. Every price must be a positive decimal on
 * the symbol's tick grid, every quantity a decimal within the symbol's precision (above 0 in a
 * snapshot; 0 in a delta removes the level), and no price may appear twice ("1.5" and "1.50" are
 * one price). Throws {@link InvalidLevelError} naming the first bad field.
 */
export function encodeSide(
  field: 'bids' | 'asks',
  levels: unknown,
  symbol: ResolvedSymbolOptions,
  options: { removals: boolean; maxLevels: number },
): EncodedSide {
  if (!Array.isArray(levels)) {
    throw new OrderBookValidationError(field, 'must be an array of { price, quantity }');
  }
  if (levels.length > options.maxLevels) {
    throw new OrderBookValidationError(
      field,
      `has ${levels.length} levels, more than maxLevelsPerSide (${options.maxLevels})`,
    );
  }
  const args: string[] = new Array<string>(levels.length * 2);
  const seen = new Set<number>();
  let maxTicks = -1;
  let minTicks = -1;
  let maxPrice = '';
  let minPrice = '';
  for (let index = 0; index < levels.length; index += 1) {
    const level = levels[index] as Partial<OrderBookLevel> | null;
    if (typeof level !== 'object' || level === null) {
      throw new InvalidLevelError(`${field}[${index}]`, 'must be an object { price, quantity }');
    }
    const price = parseDecimal(level.price);
    if (typeof price === 'string') throw new InvalidLevelError(`${field}[${index}].price`, price);
    if (price.digits > symbol.maxDigits) {
      throw new InvalidLevelError(
        `${field}[${index}].price`,
        `has ${price.digits} significant digits, more than ${symbol.maxDigits}`,
      );
    }
    if (price.isZero) throw new InvalidLevelError(`${field}[${index}].price`, 'must be above 0');
    const bigTicks = ticksOf(price, symbol.tickSize);
    if (bigTicks === undefined) {
      throw new InvalidLevelError(
        `${field}[${index}].price`,
        `${price.text} is not a multiple of the tick size ${symbol.tickSize.text}`,
      );
    }
    if (bigTicks > MAX_TICKS) {
      throw new InvalidLevelError(
        `${field}[${index}].price`,
        'is more than 2^53 ticks, too large to order exactly',
      );
    }
    const ticks = Number(bigTicks);
    if (seen.has(ticks)) {
      throw new InvalidLevelError(`${field}[${index}].price`, `${price.text} appears twice in ${field}`);
    }
    seen.add(ticks);
    const quantity = parseDecimal(level.quantity);
    if (typeof quantity === 'string') throw new InvalidLevelError(`${field}[${index}].quantity`, quantity);
    if (quantity.digits > symbol.maxDigits) {
      throw new InvalidLevelError(
        `${field}[${index}].quantity`,
        `has ${quantity.digits} significant digits, more than ${symbol.maxDigits}`,
      );
    }
    if (quantity.scale > symbol.quantityDecimals) {
      throw new InvalidLevelError(
        `${field}[${index}].quantity`,
        `has ${quantity.scale} decimals, more than ${symbol.quantityDecimals}`,
      );
    }
    args[index * 2] = String(ticks);
    if (quantity.isZero) {
      if (!options.removals) {
        throw new InvalidLevelError(`${field}[${index}].quantity`, 'must be above 0 in a snapshot');
      }
      args[index * 2 + 1] = '';
      continue;
    }
    args[index * 2 + 1] = `${price.text}:${quantity.text}`;
    if (maxTicks === -1 || ticks > maxTicks) {
      maxTicks = ticks;
      maxPrice = price.text;
    }
    if (minTicks === -1 || ticks < minTicks) {
      minTicks = ticks;
      minPrice = price.text;
    }
  }
  return { args, count: levels.length, maxTicks, minTicks, maxPrice, minPrice };
}
