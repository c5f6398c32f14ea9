import { REDIS_DEFAULTS, resolveDurability, type ResolvedDurability } from '@redkit/redis';

import { parseDecimal, type Decimal } from './decimal.js';
import { OrderBookOptionsError } from './orderbook.errors.js';
import type {
  OrderBookModuleOptions,
  OrderBookSequenceMode,
  OrderBookSymbolOptions,
} from './orderbook-options.interface.js';

/** One symbol's grid, checked. */
export interface ResolvedSymbolOptions {
  tickSize: Decimal;
  quantityDecimals: number;
  maxDigits: number;
}

export interface ResolvedOrderBookOptions {
  symbols: Map<string, ResolvedSymbolOptions>;
  defaultSymbol?: ResolvedSymbolOptions;
  idleTtlMs: number;
  sequenceMode: OrderBookSequenceMode;
  allowCrossed: boolean;
  maxLevelsPerSide: number;
  maxDepth: number;
  topDepth: number;
  reuseParsedReads: boolean;
  /** Durable mode's WAIT, or undefined when it is off. */
  durability: ResolvedDurability | undefined;
}

/** Longest symbol, in characters. */
export const MAX_SYMBOL_LENGTH = 64;

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function wholeNumber(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OrderBookOptionsError(
      option,
      `must be a whole number from ${min} to ${max}, got ${show(value)}`,
    );
  }
  return value;
}

function resolveSymbol(path: string, options: OrderBookSymbolOptions | undefined): ResolvedSymbolOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OrderBookOptionsError(path, `must be an object with a tickSize, got ${show(options)}`);
  }
  const tick = parseDecimal(options.tickSize);
  if (typeof tick === 'string') throw new OrderBookOptionsError(`${path}.tickSize`, tick);
  if (tick.isZero) throw new OrderBookOptionsError(`${path}.tickSize`, 'must be above 0');
  return {
    tickSize: tick,
    quantityDecimals:
      options.quantityDecimals === undefined
        ? 8
        : wholeNumber(`${path}.quantityDecimals`, options.quantityDecimals, 0, 30),
    maxDigits:
      options.maxDigits === undefined ? 24 : wholeNumber(`${path}.maxDigits`, options.maxDigits, 1, 40),
  };
}

/**
 * Checks every option once, at startup; throws an {@link OrderBookOptionsError} naming the first bad one.
 * `commandTimeoutMs`: the store's connection's, which bounds `durability.timeoutMs`.
 */
export function resolveOrderBookOptions(
  options: OrderBookModuleOptions = {},
  commandTimeoutMs: number = REDIS_DEFAULTS.commandTimeoutMs,
): ResolvedOrderBookOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OrderBookOptionsError('options', `must be an object, got ${show(options)}`);
  }
  const symbols = new Map<string, ResolvedSymbolOptions>();
  if (options.symbols !== undefined) {
    if (typeof options.symbols !== 'object' || options.symbols === null) {
      throw new OrderBookOptionsError('symbols', `must be an object of symbol -> { tickSize }`);
    }
    for (const [symbol, symbolOptions] of Object.entries(options.symbols)) {
      if (symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
        throw new OrderBookOptionsError(
          `symbols.${symbol}`,
          `must be named with 1-${MAX_SYMBOL_LENGTH} characters`,
        );
      }
      symbols.set(symbol, resolveSymbol(`symbols.${symbol}`, symbolOptions));
    }
  }
  const sequenceMode = options.sequenceMode ?? 'next';
  if (sequenceMode !== 'next' && sequenceMode !== 'greater') {
    throw new OrderBookOptionsError('sequenceMode', `must be "next" or "greater", got ${show(sequenceMode)}`);
  }
  for (const flag of ['allowCrossed', 'reuseParsedReads'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new OrderBookOptionsError(flag, `must be true or false, got ${show(options[flag])}`);
    }
  }
  return {
    symbols,
    defaultSymbol:
      options.defaultSymbol === undefined ? undefined : resolveSymbol('defaultSymbol', options.defaultSymbol),
    idleTtlMs:
      options.idleTtlMs === undefined
        ? 86_400_000
        : wholeNumber('idleTtlMs', options.idleTtlMs, 0, Number.MAX_SAFE_INTEGER),
    sequenceMode,
    allowCrossed: options.allowCrossed ?? false,
    reuseParsedReads: options.reuseParsedReads ?? true,
    maxLevelsPerSide:
      options.maxLevelsPerSide === undefined
        ? 50_000
        : wholeNumber('maxLevelsPerSide', options.maxLevelsPerSide, 1, 1_000_000),
    maxDepth:
      options.maxDepth === undefined ? 5_000 : wholeNumber('maxDepth', options.maxDepth, 1, 1_000_000),
    topDepth: options.topDepth === undefined ? 50 : wholeNumber('topDepth', options.topDepth, 0, 1_000),
    durability: resolveDurability(
      options.durability,
      commandTimeoutMs,
      (option, reason) => new OrderBookOptionsError(option, reason),
    ),
  };
}
