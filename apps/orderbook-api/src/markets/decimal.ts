// Exact decimal strings for the exchange: parsed into BigInt units of a grid (price ticks,
// quantity lots) and written back, never through floating point.

/** A non-negative decimal as `mantissa / 10^scale`, normalised (no trailing fraction zeros). */
export interface ParsedDecimal {
  mantissa: bigint;
  scale: number;
}

/** Digits, at most one point, a digit on both sides of it; no sign, no exponent. */
const DECIMAL = /^[0-9]{1,24}(\.[0-9]{1,24})?$/;

/** The pattern the request DTOs check price and quantity strings against. */
export const DECIMAL_PATTERN = DECIMAL;

/** Why a value is not a decimal string, or `undefined` when it is one. */
export function decimalProblem(value: unknown): string | undefined {
  if (typeof value !== 'string')
    return `must be a decimal string, got ${value === null ? 'null' : typeof value}`;
  if (!DECIMAL.test(value)) {
    return 'must be a decimal string of digits with at most one point (such as "64250.5"), no sign or exponent, at most 24 digits on each side';
  }
  return undefined;
}

/** Parses a string that passed {@link decimalProblem}. */
export function parseDecimal(text: string): ParsedDecimal {
  const point = text.indexOf('.');
  let integer = point === -1 ? text : text.slice(0, point);
  let fraction = point === -1 ? '' : text.slice(point + 1);
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1;
  fraction = fraction.slice(0, end);
  integer = integer.replace(/^0+(?=\d)/, '');
  return { mantissa: BigInt(integer + fraction), scale: fraction.length };
}

/** Writes `mantissa / 10^scale` as a normalised decimal string. */
export function formatDecimal(mantissa: bigint, scale: number): string {
  if (mantissa < 0n) return `-${formatDecimal(-mantissa, scale)}`;
  if (scale === 0) return mantissa.toString();
  const digits = mantissa.toString().padStart(scale + 1, '0');
  const integer = digits.slice(0, digits.length - scale);
  let fraction = digits.slice(digits.length - scale);
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1;
  fraction = fraction.slice(0, end);
  return fraction.length === 0 ? integer : `${integer}.${fraction}`;
}

/**
 * A grid such as a tick size `0.01` or a lot size `0.00000001`: converts decimals to whole units of
 * the grid and back, exactly.
 */
export class DecimalGrid {
  /** The step, normalised (`"0.01"`). */
  readonly step: string;
  private readonly stepMantissa: bigint;
  private readonly stepScale: number;

  constructor(step: string) {
    const problem = decimalProblem(step);
    if (problem !== undefined) throw new Error(`grid step ${JSON.stringify(step)} ${problem}`);
    const parsed = parseDecimal(step);
    if (parsed.mantissa === 0n) throw new Error('grid step must be above 0');
    this.stepMantissa = parsed.mantissa;
    this.stepScale = parsed.scale;
    this.step = formatDecimal(parsed.mantissa, parsed.scale);
  }

  /** Units of the grid in `text`, or `undefined` when `text` is not a whole multiple of the step. */
  unitsOf(text: string): bigint | undefined {
    const value = parseDecimal(text);
    // value / step = (m1 / 10^s1) / (m2 / 10^s2) = m1 * 10^s2 / (m2 * 10^s1)
    const numerator = value.mantissa * 10n ** BigInt(this.stepScale);
    const denominator = this.stepMantissa * 10n ** BigInt(value.scale);
    if (numerator % denominator !== 0n) return undefined;
    return numerator / denominator;
  }

  /** The decimal string of `units` steps. */
  format(units: bigint | number | string): string {
    return formatDecimal(BigInt(units) * this.stepMantissa, this.stepScale);
  }
}
