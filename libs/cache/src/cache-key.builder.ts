import { createHash } from 'node:crypto';

/**
 * Starts every hashed arguments key. A key that is not hashed starts with `[` (it encodes an array),
 * so the two forms can never meet.
 */
const HASHED_KEY_PREFIX = 'h:';

function compareEncoded(left: string, right: string): number {
  // Code-unit order, not localeCompare: the same on every machine whatever its locale.
  return left < right ? -1 : left > right ? 1 : 0;
}

function encodeBytes(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return `Buffer(${buffer.toString('base64')})`;
}

function encodePlainObject(value: object, ancestors: object[]): string {
  const keys = Object.keys(value).sort(compareEncoded);
  let text = '{';
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index] as string;
    const propertyValue = (value as Record<string, unknown>)[key];
    if (propertyValue === undefined) continue;
    text += `${text.length === 1 ? '' : ','}${JSON.stringify(key)}:${encode(propertyValue, ancestors)}`;
  }
  return `${text}}`;
}

function encodeContainer(value: object, ancestors: object[]): string {
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index += 1) {
      text += index === 0 ? encode(value[index], ancestors) : `,${encode(value[index], ancestors)}`;
    }
    return `${text}]`;
  }
  // A value object (a decimal, a URL, an ObjectId) is best known by what it says it is in JSON.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return encode((value as { toJSON(): unknown }).toJSON(), ancestors);
  }
  // Plain objects, the common case, skip the instanceof chain.
  if (Object.getPrototypeOf(value) === Object.prototype) return encodePlainObject(value, ancestors);
  if (value instanceof Map) {
    const entries: Array<[string, string]> = [];
    for (const [key, entryValue] of value)
      entries.push([encode(key, ancestors), encode(entryValue, ancestors)]);
    // Distinct keys can encode alike (two equal objects), so the value breaks ties.
    entries.sort((left, right) => compareEncoded(left[0], right[0]) || compareEncoded(left[1], right[1]));
    return `Map[${entries.map(([key, entryValue]) => `[${key},${entryValue}]`).join(',')}]`;
  }
  if (value instanceof Set) {
    const members: string[] = [];
    for (const member of value) members.push(encode(member, ancestors));
    return `Set[${members.sort(compareEncoded).join(',')}]`;
  }
  return encodePlainObject(value, ancestors);
}

function encodeObject(value: object, ancestors: object[]): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'InvalidDate' : value.toISOString();
  if (value instanceof Uint8Array) return encodeBytes(value);
  // The objects being encoded, outermost first: arguments are shallow, so a list beats a Set here.
  if (ancestors.includes(value)) throw new TypeError('stableStringify cannot encode a circular structure');
  ancestors.push(value);
  const text = encodeContainer(value, ancestors);
  ancestors.pop();
  return text;
}

function encode(value: unknown, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // JSON's number format for finite numbers; NaN and ±Infinity spelled out; -0 reads '0'.
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'bigint':
      return `${value}n`;
    case 'object':
      return value === null ? 'null' : encodeObject(value, ancestors);
    default:
      // Dropping it as JSON does would give calls that differ only here the same key.
      throw new TypeError(`stableStringify cannot encode a ${typeof value} into a cache key`);
  }
}

/**
 * A deterministic text for a value: equal values give equal texts whatever the order their object
 * keys, Map entries or Set members were inserted in, and values of different types never meet.
 *
 * - strings, finite numbers, booleans and `null` as `JSON.stringify` writes them; `NaN`, `Infinity`,
 *   `-Infinity`; `-0` as `0`; `undefined` as `undefined`; a BigInt as `123n`;
 * - a Date as its ISO string without quotes (`2024-05-01T12:00:00.000Z`, unlike the string of the
 *   same text), an invalid one as `InvalidDate`; a Buffer or Uint8Array as `Buffer(<base64>)`;
 * - arrays as `[a,b]` (a hole reads `undefined`); a Map as `Map[[key,value],...]` sorted by encoded
 *   key; a Set as `Set[a,b]` sorted by encoded member;
 * - an object with a `toJSON` method as what that returns; any other object as `{"a":1,"b":2}` with
 *   its own enumerable keys sorted, leaving out properties whose value is `undefined` (as JSON does,
 *   so an optional property set to undefined and one left out give the same text).
 *
 * Functions, symbols and circular structures throw a `TypeError`.
 *
 * @example
 * stableStringify({ b: 2, a: [1n, undefined] }); // {"a":[1n,undefined],"b":2}
 */
export function stableStringify(value: unknown): string {
  return encode(value, []);
}

/**
 * The part of a cache key that identifies a call: `stableStringify(args)`, such as `["BTC-USD",10]`.
 * When that is longer than `maxLength` characters (UTF-16 code units), it is replaced by `h:` and the
 * base64url SHA-256 of it (45 characters), so keys stay bounded at `max(maxLength, 45)` characters
 * whatever the arguments. An unhashed key always starts with `[`, so the two forms cannot collide.
 *
 * @example
 * buildArgumentsKey(['BTC-USD', { depth: 10 }]); // ["BTC-USD",{"depth":10}]
 * buildArgumentsKey([hugeFilter]); // h: and 43 base64url characters
 */
export function buildArgumentsKey(args: readonly unknown[], maxLength = 200): string {
  if (!(maxLength >= 0)) throw new RangeError(`buildArgumentsKey maxLength must be >= 0, got ${maxLength}`);
  const text = stableStringify(args);
  return text.length <= maxLength
    ? text
    : `${HASHED_KEY_PREFIX}${createHash('sha256').update(text).digest('base64url')}`;
}

/** A compiled key template: builds the key for one call's arguments. */
export type KeyTemplate = (args: readonly unknown[]) => string;

interface Placeholder {
  /** As written in the template, braces included, for error messages: `{0.symbol}`. */
  readonly text: string;
  readonly index: number;
  readonly path: readonly string[];
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function parsePlaceholder(template: string, text: string): Placeholder {
  const segments = text.slice(1, -1).split('.');
  const indexText = segments[0] as string;
  for (let position = 0; position < indexText.length; position += 1) {
    if (!isDigit(indexText.charCodeAt(position))) {
      throw new Error(`key template "${template}": placeholder ${text} must start with an argument index`);
    }
  }
  const path = segments.slice(1);
  if (path.some((segment) => segment.length === 0 || segment.includes('{'))) {
    throw new Error(
      `key template "${template}": placeholder ${text} has an empty or malformed property name`,
    );
  }
  return { text, index: Number(indexText), path };
}

function renderPlaceholder(template: string, placeholder: Placeholder, args: readonly unknown[]): string {
  if (placeholder.index >= args.length) {
    throw new Error(
      `key template "${template}": placeholder ${placeholder.text} refers to argument ${placeholder.index}, ` +
        `but the call has ${args.length} argument${args.length === 1 ? '' : 's'}`,
    );
  }
  let value = args[placeholder.index];
  for (const segment of placeholder.path) {
    if (value === null || value === undefined) {
      throw new Error(
        `key template "${template}": placeholder ${placeholder.text} cannot read "${segment}" of ${value}`,
      );
    }
    value = (value as Record<string, unknown>)[segment];
  }
  // An undefined part would let calls that differ elsewhere share the key `...:undefined`.
  if (value === undefined) {
    throw new Error(`key template "${template}": placeholder ${placeholder.text} is undefined for this call`);
  }
  return typeof value === 'string' ? value : stableStringify(value);
}

/**
 * Parses a key template once and returns the function that fills it in. `{<index>}` is replaced by
 * that argument and `{<index>.<property>.<property>}` by a property of it: strings as they are, other
 * values through {@link stableStringify}. A `{` not followed by a digit is plain text, so Redis hash
 * tags such as `{orders}` can be written as they are. Filling in throws an `Error` naming the
 * placeholder when its argument is missing or its value is `undefined`, or a property on its path
 * cannot be read; a malformed placeholder throws here, at compile time.
 *
 * Strings go in unescaped: the keyspace that prefixes the key is what makes it safe for Redis.
 *
 * @example
 * const orderKey = compileKeyTemplate('book:{0.symbol}:{1}');
 * orderKey([{ symbol: 'BTC-USD' }, 10]); // book:BTC-USD:10
 */
export function compileKeyTemplate(template: string): KeyTemplate {
  const literals: string[] = [];
  const placeholders: Placeholder[] = [];
  let literal = '';
  let position = 0;
  while (position < template.length) {
    const open = template.indexOf('{', position);
    if (open < 0) {
      literal += template.slice(position);
      break;
    }
    if (!isDigit(template.charCodeAt(open + 1))) {
      literal += template.slice(position, open + 1);
      position = open + 1;
      continue;
    }
    const close = template.indexOf('}', open);
    if (close < 0) {
      throw new Error(`key template "${template}": placeholder ${template.slice(open)} is not closed`);
    }
    literals.push(literal + template.slice(position, open));
    placeholders.push(parsePlaceholder(template, template.slice(open, close + 1)));
    literal = '';
    position = close + 1;
  }
  literals.push(literal);
  if (placeholders.length === 0) return () => template;
  return (args) => {
    let key = literals[0] as string;
    for (let index = 0; index < placeholders.length; index += 1) {
      key += renderPlaceholder(template, placeholders[index] as Placeholder, args) + literals[index + 1];
    }
    return key;
  };
}

/** Compiled templates by their text; cleared when full, as a template made per call would fill it. */
const compiledTemplates = new Map<string, KeyTemplate>();
const COMPILED_TEMPLATES_LIMIT = 512;

/**
 * Fills in a key template (see {@link compileKeyTemplate}) for one call. Templates are compiled on
 * first use and kept, so repeated calls do not parse again.
 *
 * @example
 * resolveKeyTemplate('order:{0}', ['42']); // order:42
 */
export function resolveKeyTemplate(template: string, args: readonly unknown[]): string {
  let compiled = compiledTemplates.get(template);
  if (compiled === undefined) {
    compiled = compileKeyTemplate(template);
    if (compiledTemplates.size >= COMPILED_TEMPLATES_LIMIT) compiledTemplates.clear();
    compiledTemplates.set(template, compiled);
  }
  return compiled(args);
}
