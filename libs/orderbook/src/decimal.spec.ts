import { describe, expect, it } from '@jest/globals';

import {
  formatDecimal,
  midpointOfDecimals,
  parseDecimal,
  subtractDecimals,
  ticksOf,
  type Decimal,
} from './decimal.js';

const parsed = (text: string) => parseDecimal(text) as Decimal;

describe('parseDecimal', () => {
  it.each([
    ['1.50', '1.5', 1],
    ['0001.5000', '1.5', 1],
    ['0', '0', 0],
    ['0.000', '0', 0],
    ['00.10', '0.1', 1],
    ['64250', '64250', 0],
    ['12345678901234567890.123456789', '12345678901234567890.123456789', 9],
  ])('normalises %j to %j', (input, text, scale) => {
    const decimal = parsed(input);
    expect(decimal.text).toBe(text);
    expect(decimal.scale).toBe(scale);
  });

  it('counts digits without leading zeros', () => {
    expect(parsed('0.0012').digits).toBe(4);
    expect(parsed('120.5').digits).toBe(4);
  });

  it.each([
    ['NaN', /NaN/],
    ['-1', /negative/],
    ['+1', /sign/],
    ['1e5', /exponent/],
    ['Infinity', /finite/],
    ['', /empty/],
    ['1.', /digits/],
    ['.5', /digits/],
    [' 1', /digits/],
    ['1,5', /digits/],
    ['1.2.3', /digits/],
    ['1'.repeat(65), /characters long/],
  ])('refuses %j', (input, reason) => {
    expect(parseDecimal(input)).toMatch(reason);
  });

  it('refuses numbers and null: decimals travel as strings', () => {
    expect(parseDecimal(1.5)).toMatch(/decimal string, got number/);
    expect(parseDecimal(null)).toMatch(/got null/);
  });
});

describe('decimal arithmetic', () => {
  it('subtracts exactly, where floats would not', () => {
    expect(subtractDecimals('0.3', '0.1')).toBe('0.2');
    expect(subtractDecimals('100', '100.25')).toBe('-0.25');
    expect(subtractDecimals('9007199254740993', '1')).toBe('9007199254740992');
  });

  it('takes the midpoint exactly, adding a decimal only when needed', () => {
    expect(midpointOfDecimals('100', '101')).toBe('100.5');
    expect(midpointOfDecimals('100.01', '100.02')).toBe('100.015');
    expect(midpointOfDecimals('99', '101')).toBe('100');
  });

  it('formats mantissa and scale', () => {
    expect(formatDecimal(5n, 3)).toBe('0.005');
    expect(formatDecimal(1500n, 3)).toBe('1.5');
    expect(formatDecimal(0n, 2)).toBe('0');
    expect(formatDecimal(-10n, 1)).toBe('-1');
  });
});

describe('ticksOf', () => {
  it('divides a price on the grid into whole ticks', () => {
    expect(ticksOf(parsed('64250.5'), parsed('0.01'))).toBe(6425050n);
    expect(ticksOf(parsed('0.75'), parsed('0.25'))).toBe(3n);
    expect(ticksOf(parsed('100'), parsed('5'))).toBe(20n);
  });

  it('finds prices off the grid', () => {
    expect(ticksOf(parsed('1.001'), parsed('0.01'))).toBeUndefined();
    expect(ticksOf(parsed('0.8'), parsed('0.25'))).toBeUndefined();
  });
});

describe('decimal arithmetic beyond the fast path', () => {
  it('agrees with BigInt arithmetic for long and mixed-scale inputs', () => {
    expect(subtractDecimals('123456789012345', '0.00000000000001')).toBe('123456789012344.99999999999999');
    expect(midpointOfDecimals('99999999999999999999.5', '0.5')).toBe('50000000000000000000');
    expect(midpointOfDecimals('999999999999999', '999999999999998')).toBe('999999999999998.5');
    expect(subtractDecimals('0.1', '0.30')).toBe('-0.2');
  });
});

describe('parseDecimal significand', () => {
  it.each([
    ['0.0012', '12', 4],
    ['0', '0', 0],
    ['000.000', '0', 0],
    ['10.50', '105', 1],
    ['007', '7', 0],
  ])('%j has significand %j and scale %i', (input, significand, scale) => {
    const decimal = parsed(input);
    expect(decimal.significand).toBe(significand);
    expect(decimal.scale).toBe(scale);
    expect(decimal.mantissa).toBe(BigInt(significand));
  });

  it('finds ticks beyond the fast path with BigInt', () => {
    expect(ticksOf(parsed('123456789012345678.25'), parsed('0.25'))).toBe(493827156049382713n);
    expect(ticksOf(parsed('123456789012345678.3'), parsed('0.25'))).toBeUndefined();
  });
});
