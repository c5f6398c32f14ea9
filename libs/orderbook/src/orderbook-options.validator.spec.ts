import { describe, expect, it } from '@jest/globals';

import { OrderBookOptionsError } from './orderbook.errors.js';
import { resolveOrderBookOptions } from './orderbook-options.validator.js';

describe('resolveOrderBookOptions', () => {
  it('applies the defaults', () => {
    const options = resolveOrderBookOptions({ symbols: { 'BTC-USD': { tickSize: '0.010' } } });
    expect(options).toMatchObject({
      idleTtlMs: 86_400_000,
      sequenceMode: 'next',
      allowCrossed: false,
      maxLevelsPerSide: 50_000,
      maxDepth: 5_000,
      topDepth: 50,
      defaultSymbol: undefined,
    });
    expect(options.symbols.get('BTC-USD')).toMatchObject({ quantityDecimals: 8, maxDigits: 24 });
    expect(options.symbols.get('BTC-USD')?.tickSize.text).toBe('0.01');
    expect(options.durability).toBeUndefined();
  });

  it('bounds durability.timeoutMs by half the connection command timeout', () => {
    expect(resolveOrderBookOptions({ durability: { replicas: 1 } }).durability).toEqual({
      replicas: 1,
      timeoutMs: 500,
    });
    expect(
      resolveOrderBookOptions({ durability: { replicas: 2, timeoutMs: 900 } }, 2_000).durability,
    ).toEqual({
      replicas: 2,
      timeoutMs: 900,
    });
  });

  it.each([
    [{ symbols: { X: { tickSize: '0' } } }, 'symbols.X.tickSize', /above 0/],
    [{ symbols: { X: { tickSize: 'abc' } } }, 'symbols.X.tickSize', /digits/],
    [
      { symbols: { X: { tickSize: '1', quantityDecimals: -1 } } },
      'symbols.X.quantityDecimals',
      /whole number/,
    ],
    [{ defaultSymbol: {} }, 'defaultSymbol.tickSize', /decimal string/],
    [{ sequenceMode: 'any' }, 'sequenceMode', /"next" or "greater"/],
    [{ idleTtlMs: -5 }, 'idleTtlMs', /whole number/],
    [{ allowCrossed: 'yes' }, 'allowCrossed', /true or false/],
    [{ reuseParsedReads: 1 }, 'reuseParsedReads', /true or false/],
    [{ maxDepth: 0 }, 'maxDepth', /whole number/],
    [{ topDepth: 1001 }, 'topDepth', /from 0 to 1000/],
    [{ durability: 1 }, 'durability', /must be an object/],
    [{ durability: { replicas: 0 } }, 'durability.replicas', /from 1/],
    [{ durability: { replicas: 1, timeoutMs: 501 } }, 'durability.timeoutMs', /from 1 to 500/],
  ])('refuses %j naming %s', (options, option, reason) => {
    let caught: unknown;
    try {
      resolveOrderBookOptions(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OrderBookOptionsError);
    expect((caught as OrderBookOptionsError).option).toBe(option);
    expect((caught as Error).message).toMatch(reason);
  });
});
