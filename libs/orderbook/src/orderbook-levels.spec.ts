import { describe, expect, it } from '@jest/globals';

import { InvalidLevelError, OrderBookValidationError } from './orderbook.errors.js';
import { encodeSide } from './orderbook-levels.js';
import { resolveOrderBookOptions } from './orderbook-options.validator.js';

const grid = resolveOrderBookOptions({
  symbols: { X: { tickSize: '0.01', quantityDecimals: 4 } },
}).symbols.get('X')!;
const snapshot = { removals: false, maxLevels: 100 };
const delta = { removals: true, maxLevels: 100 };

function refusal(levels: unknown, options = snapshot): InvalidLevelError {
  try {
    encodeSide('bids', levels, grid, options);
  } catch (error) {
    return error as InvalidLevelError;
  }
  throw new Error('expected a refusal');
}

describe('encodeSide', () => {
  it('encodes ticks and normalised price:quantity members, and finds the extremes', () => {
    const side = encodeSide(
      'bids',
      [
        { price: '100.50', quantity: '2.000' },
        { price: '99', quantity: '0.5' },
      ],
      grid,
      snapshot,
    );
    expect(side.args).toEqual(['10050', '100.5:2', '9900', '99:0.5']);
    expect(side).toMatchObject({
      count: 2,
      maxTicks: 10050,
      minTicks: 9900,
      maxPrice: '100.5',
      minPrice: '99',
    });
  });

  it('encodes a zero quantity in a delta as a removal', () => {
    expect(encodeSide('bids', [{ price: '1', quantity: '0.000' }], grid, delta).args).toEqual(['100', '']);
  });

  it.each([
    [[{ price: 'NaN', quantity: '1' }], 'bids[0].price', /NaN/],
    [[{ price: '-1', quantity: '1' }], 'bids[0].price', /negative/],
    [[{ price: '1'.repeat(40), quantity: '1' }], 'bids[0].price', /characters long|significant digits/],
    [[{ price: '1'.repeat(30), quantity: '1' }], 'bids[0].price', /30 significant digits/],
    [[{ price: '1.001', quantity: '1' }], 'bids[0].price', /not a multiple of the tick size 0.01/],
    [[{ price: '0', quantity: '1' }], 'bids[0].price', /above 0/],
    [[{ price: '1', quantity: '0.00001' }], 'bids[0].quantity', /5 decimals, more than 4/],
    [[{ price: '1', quantity: '-2' }], 'bids[0].quantity', /negative/],
    [[{ price: '1', quantity: '0' }], 'bids[0].quantity', /above 0 in a snapshot/],
    [[{ price: '1', quantity: 2 }], 'bids[0].quantity', /decimal string/],
    [
      [
        { price: '1', quantity: '1' },
        { price: '1.00', quantity: '2' },
      ],
      'bids[1].price',
      /appears twice/,
    ],
    [[null], 'bids[0]', /object/],
  ])('refuses %j naming %s', (levels, field, reason) => {
    const error = refusal(levels);
    expect(error).toBeInstanceOf(InvalidLevelError);
    expect(error.code).toBe('ORDERBOOK_INVALID_LEVEL');
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
    expect(error.message).toContain(field);
  });

  it('refuses prices beyond 2^53 ticks', () => {
    expect(refusal([{ price: '900719925474099.93', quantity: '1' }]).reason).toMatch(/2\^53/);
  });

  it('refuses a side that is not an array or has too many levels', () => {
    expect(() => encodeSide('asks', 'x', grid, snapshot)).toThrow(OrderBookValidationError);
    const many = Array.from({ length: 101 }, (_, index) => ({ price: String(index + 1), quantity: '1' }));
    expect(() => encodeSide('asks', many, grid, snapshot)).toThrow(/more than maxLevelsPerSide/);
  });
});
