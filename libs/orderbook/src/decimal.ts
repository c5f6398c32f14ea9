// Exact decimal strings, without floating point: parsing, normalising, tick arithmetic with BigInt.

/** A non-negative decimal, normalised. */
export class Decimal {
  constructor(
    /** The normalised text: no leading zeros (but `0.5`), no trailing fraction zeros, no lone point. */
    readonly text: string,
    /** The value times 10^scale, written out without leading zeros (`"0.05"` -> `"5"`). */
    readonly significand: string,
    /** Digits after the decimal point once normalised. */
    readonly scale: number,
    /** Digits once normalised: integer digits (none for `0.x`) plus fraction digits. */
    readonly digits: number,
  ) {}

  /** The value times 10^scale, exactly. */
  get mantissa(): bigint {
    return BigInt(this.significand);
  }

  get isZero(): boolean {
    return this.significand === '0';
  }
}

/** Why a string is not an acceptable decimal, as words a message can end with. */
export type DecimalProblem = string;

/** Upper bound on the raw string before anything else is looked at, so huge inputs cost nothing. */
export const MAX_DECIMAL_TEXT_LENGTH = 64;

function describeNonDecimal(input: string): DecimalProblem {
  if (/^nan$/i.test(input)) return 'is NaN, not a number';
  if (/infinity/i.test(input)) return 'must be finite';
  if (/^[0-9.]*[eE][-+]?[0-9]*$/.test(input)) return 'must not use exponent notation';
  return 'must be digits with at most one decimal point, such as "12.5"';
}

/**
 * Parses a non-negative decimal string such as `"64250.50"` into its normalised form
 * (`"64250.5"`). Refuses, with a reason: non-strings, empty strings, signs, exponents, `NaN`,
 * `Infinity`, spaces, a missing digit on either side of the point, and strings longer than
 * {@link MAX_DECIMAL_TEXT_LENGTH}. Returns the reason as a string instead of throwing, so that the
 * caller can name the field. One pass over the characters, no regular expression on valid input.
 */
export function parseDecimal(input: unknown): Decimal | DecimalProblem {
  if (typeof input !== 'string') {
    return `must be a decimal string, got ${input === null ? 'null' : typeof input}`;
  }
  const length = input.length;
  if (length === 0) return 'must not be empty';
  if (length > MAX_DECIMAL_TEXT_LENGTH) {
    return `is ${length} characters long, more than ${MAX_DECIMAL_TEXT_LENGTH}`;
  }
  const first = input.charCodeAt(0);
  if (first === 45 /* - */) return 'must not be negative';
  if (first === 43 /* + */) return 'must not carry a sign';
  let point = -1;
  // First non-zero digit of the integer part, and end of the fraction without trailing zeros.
  let start = -1;
  let end = length;
  for (let index = 0; index < length; index += 1) {
    const code = input.charCodeAt(index);
    if (code === 46 /* . */) {
      if (point !== -1 || index === 0 || index === length - 1) return describeNonDecimal(input);
      point = index;
    } else if (code < 48 || code > 57) {
      return describeNonDecimal(input);
    } else if (start === -1 && point === -1 && code !== 48) {
      start = index;
    }
  }
  const integerEnd = point === -1 ? length : point;
  if (start === -1) start = integerEnd - 1; // all zeros: keep one
  if (point === -1) {
    end = length;
  } else {
    while (end > point + 1 && input.charCodeAt(end - 1) === 48) end -= 1;
  }
  const integer = input.slice(start, integerEnd);
  const fraction = point === -1 || end === point + 1 ? '' : input.slice(point + 1, end);
  const text = fraction.length === 0 ? integer : `${integer}.${fraction}`;
  const integerDigits = integer === '0' ? 0 : integer.length;
  let significand = integer + fraction;
  if (integer === '0' && fraction.length > 0) {
    let zeros = 1;
    while (zeros < significand.length - 1 && significand.charCodeAt(zeros) === 48) zeros += 1;
    significand = significand.slice(zeros);
  }
  return new Decimal(text, significand, fraction.length, integerDigits + fraction.length);
}

const POWERS: bigint[] = [];
/** 10^n as a BigInt, memoised. */
export function pow10(n: number): bigint {
  let power = POWERS[n];
  if (power === undefined) {
    power = 10n ** BigInt(n);
    POWERS[n] = power;
  }
  return power;
}

/** Writes `mantissa / 10^scale` as a normalised decimal string (sign kept). */
export function formatDecimal(mantissa: bigint, scale: number): string {
  return formatDigits(mantissa < 0n, (mantissa < 0n ? -mantissa : mantissa).toString(), scale);
}

/** `digits / 10^scale` with trailing fractional zeros dropped, and a minus sign unless it is 0. */
function formatDigits(negative: boolean, digits: string, scale: number): string {
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    let end = digits.length;
    const pointAt = digits.length - scale;
    while (end > pointAt && digits.charCodeAt(end - 1) === 48) end -= 1;
    digits =
      end === pointAt
        ? digits.slice(0, pointAt)
        : `${digits.slice(0, pointAt)}.${digits.slice(pointAt, end)}`;
  }
  return negative && digits !== '0' ? `-${digits}` : digits;
}

/**
 * A normalised decimal string of at most 15 characters as an integer mantissa (an exact double) and
 * a scale; undefined when longer. The fast path of the read side, which derives spread and mid on
 * every read without BigInt.
 */
function smallDecimal(text: string): { mantissa: number; scale: number } | undefined {
  if (text.length > 15) return undefined;
  const point = text.indexOf('.');
  if (point === -1) return { mantissa: Number(text), scale: 0 };
  return { mantissa: Number(text.slice(0, point) + text.slice(point + 1)), scale: text.length - point - 1 };
}

const SMALL_POWERS = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Writes `mantissa / 10^scale` for a mantissa that is an exact integer double. */
function formatSmall(mantissa: number, scale: number): string {
  return formatDigits(mantissa < 0, String(mantissa < 0 ? -mantissa : mantissa), scale);
}

/** Both decimals as integers at one scale, when both stay below 2^49, so that (x + y) * 5 is still an exact double. */
function alignSmall(a: string, b: string): { x: number; y: number; scale: number } | undefined {
  const small = smallDecimal(a);
  const other = smallDecimal(b);
  if (small === undefined || other === undefined) return undefined;
  const scale = Math.max(small.scale, other.scale);
  const x = small.mantissa * (SMALL_POWERS[scale - small.scale] as number);
  const y = other.mantissa * (SMALL_POWERS[scale - other.scale] as number);
  return x < SMALL_LIMIT && y < SMALL_LIMIT ? { x, y, scale } : undefined;
}

const SMALL_LIMIT = 2 ** 49;

/** `a - b` exactly, for normalised decimal strings (the result may be negative). */
export function subtractDecimals(a: string, b: string): string {
  const aligned = alignSmall(a, b);
  if (aligned !== undefined) return formatSmall(aligned.x - aligned.y, aligned.scale);
  const x = parseDecimal(a) as Decimal;
  const y = parseDecimal(b) as Decimal;
  const scale = Math.max(x.scale, y.scale);
  return formatDecimal(x.mantissa * pow10(scale - x.scale) - y.mantissa * pow10(scale - y.scale), scale);
}

/** `(a + b) / 2` exactly, for normalised decimal strings: one more decimal when the sum is odd. */
export function midpointOfDecimals(a: string, b: string): string {
  const aligned = alignSmall(a, b);
  // Below 2^49 each, so (x + y) * 5 stays below 5 * 2^50 < 2^53: exact.
  if (aligned !== undefined) return formatSmall((aligned.x + aligned.y) * 5, aligned.scale + 1);
  const x = parseDecimal(a) as Decimal;
  const y = parseDecimal(b) as Decimal;
  const scale = Math.max(x.scale, y.scale);
  const sum = x.mantissa * pow10(scale - x.scale) + y.mantissa * pow10(scale - y.scale);
  return formatDecimal(sum * 5n, scale + 1);
}

/**
 * How many ticks `price` is, or `undefined` when it is off the grid (not a whole multiple of
 * `tick`). Both are exact; the division is BigInt.
 */
export function ticksOf(price: Decimal, tick: Decimal): bigint | undefined {
  const scale = Math.max(price.scale, tick.scale);
  const priceDigits = price.significand.length + scale - price.scale;
  const tickDigits = tick.significand.length + scale - tick.scale;
  if (priceDigits <= 15 && tickDigits <= 15) {
    // Both below 10^15 < 2^53 once aligned: exact as doubles, and so is the remainder.
    const p = Number(price.significand) * (SMALL_POWERS[scale - price.scale] as number);
    const t = Number(tick.significand) * (SMALL_POWERS[scale - tick.scale] as number);
    return p % t === 0 ? BigInt(p / t) : undefined;
  }
  const p = price.mantissa * pow10(scale - price.scale);
  const t = tick.mantissa * pow10(scale - tick.scale);
  return p % t === 0n ? p / t : undefined;
}
