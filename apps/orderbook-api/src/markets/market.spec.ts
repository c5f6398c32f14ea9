import { describe, expect, it } from '@jest/globals';

import { DecimalGrid, formatDecimal, parseDecimal } from './decimal.js';
import { InvalidFieldError, Market } from './market.js';
import { MarketRegistry } from './market.registry.js';

const btc = new Market({
  symbol: 'BTC-USD',
  tickSize: '0.01',
  lotSize: '0.00000001',
  maxPrice: '10000000',
  maxQuantity: '1000',
});

function refusal(run: () => unknown): { field: string; reason: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidFieldError) return { field: error.field, reason: error.reason };
    throw error;
  }
  throw new Error('expected an InvalidFieldError');
}

describe('exact decimals', () => {
  it('normalises and writes back without floating point', () => {
    expect(parseDecimal('00012.3400')).toEqual({ mantissa: 1234n, scale: 2 });
    expect(formatDecimal(1234n, 2)).toBe('12.34');
    expect(formatDecimal(5n, 8)).toBe('0.00000005');
    expect(formatDecimal(1200n, 2)).toBe('12');
    expect(formatDecimal(-5n, 1)).toBe('-0.5');
  });

  it('converts to whole grid steps only when the value is on the grid', () => {
    const tick = new DecimalGrid('0.05');
    expect(tick.unitsOf('1.15')).toBe(23n);
    expect(tick.unitsOf('1.1500')).toBe(23n);
    expect(tick.unitsOf('1.12')).toBeUndefined();
    expect(tick.format(23n)).toBe('1.15');
    // 0.1 + 0.2 style inputs stay exact: 2^53 + 1 lots survive the round trip.
    const lot = new DecimalGrid('0.00000001');
    expect(lot.unitsOf('90071992.54740993')).toBe(9_007_199_254_740_993n);
  });
});

describe('Market', () => {
  it('turns prices into ticks and quantities into lots', () => {
    expect(btc.priceTicks('64250.50')).toBe(6_425_050n);
    expect(btc.quantityLots('0.00000001')).toBe(1n);
    expect(btc.quantityLots('1000')).toBe(100_000_000_000n);
  });

  it('names the field and the reason for every refusal', () => {
    expect(refusal(() => btc.priceTicks('64250.505'))).toEqual({
      field: 'price',
      reason: 'must be a multiple of the tick size 0.01 of BTC-USD',
    });
    expect(refusal(() => btc.priceTicks('0')).reason).toBe('must be above 0');
    expect(refusal(() => btc.priceTicks('-1')).reason).toContain('no sign');
    expect(refusal(() => btc.priceTicks('1e5')).reason).toContain('exponent');
    expect(refusal(() => btc.priceTicks(12)).reason).toBe('must be a decimal string, got number');
    expect(refusal(() => btc.quantityLots('1000.00000001'))).toEqual({
      field: 'quantity',
      reason: 'must be at most 1000 on BTC-USD',
    });
    expect(refusal(() => btc.quantityLots('9'.repeat(30))).field).toBe('quantity');
    expect(refusal(() => btc.priceTicks('1.001', 'bids[3].price')).field).toBe('bids[3].price');
  });

  it('refuses a bad market definition at startup', () => {
    expect(() => new Market({ ...btc.definition, symbol: 'btc' })).toThrow(/BASE-QUOTE/);
    expect(() => new Market({ ...btc.definition, tickSize: '0' })).toThrow(/above 0/);
    expect(() => new Market({ ...btc.definition, maxPrice: '10000000.001' })).toThrow(/maxPrice/);
    expect(() => new MarketRegistry([btc.definition, btc.definition])).toThrow(/twice/);
  });

  it('answers an unknown symbol with the list of markets', () => {
    const registry = new MarketRegistry([btc.definition]);
    expect(registry.get('BTC-USD')).toBeInstanceOf(Market);
    expect(refusal(() => registry.get('DOGE-USD'))).toEqual({
      field: 'symbol',
      reason: 'must be one of the markets BTC-USD, got "DOGE-USD"',
    });
  });
});
