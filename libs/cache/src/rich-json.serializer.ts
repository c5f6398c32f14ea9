import type { CacheSerializer } from './cache-serializer.interface.js';

/** The key that marks a tagged object in the serialized text: `{"$rk":"<type>","v":<payload>}`. */
const TAG = '$rk';
/** Every text holding a tag contains this; text without it is plain JSON and is read by JSON.parse alone. */
const TAG_MARK = `"${TAG}"`;

/** The types a tag can carry, as written in the `$rk` field. */
type TagType = 'date' | 'buffer' | 'bigint' | 'number' | 'undefined' | 'map' | 'set' | 'object';

interface Tag {
  readonly $rk: TagType;
  readonly v?: unknown;
}

/** An object or array seen through its string keys. */
type Holder = Record<string, unknown>;

const UNDEFINED_TAG: Tag = Object.freeze({ $rk: 'undefined' });
const NAN_TAG: Tag = Object.freeze({ $rk: 'number', v: 'NaN' });
const INFINITY_TAG: Tag = Object.freeze({ $rk: 'number', v: 'Infinity' });
const NEGATIVE_INFINITY_TAG: Tag = Object.freeze({ $rk: 'number', v: '-Infinity' });
const NEGATIVE_ZERO_TAG: Tag = Object.freeze({ $rk: 'number', v: '-0' });
const UNDEFINED_TEXT = JSON.stringify(UNDEFINED_TAG);

/**
 * How deep {@link isPlainJson} looks before leaving the value to the replacer. It bounds the check
 * on circular structures, which the replacer path then reports.
 */
const PLAIN_CHECK_MAX_DEPTH = 64;

/**
 * True when JSON.stringify alone writes the value faithfully: only plain objects, arrays, strings,
 * booleans, null and finite numbers other than -0, no `$rk` key and no `toJSON` method. Checking
 * first and then calling JSON.stringify without a replacer is about twice as fast as any replacer
 * (Node 20: a replacer that returns its value unchanged already costs 2.2x a bare JSON.stringify).
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && (value !== 0 || 1 / value > 0);
    case 'object': {
      if (value === null) return true;
      if (depth === PLAIN_CHECK_MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let index = 0; index < value.length; index += 1) {
          if (!isPlainJson(value[index], depth + 1)) return false;
        }
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      const keys = Object.keys(value);
      for (let index = 0; index < keys.length; index += 1) {
        const key = keys[index] as string;
        const child = (value as Holder)[key];
        // JSON drops function and symbol properties, but calls a toJSON method.
        if (typeof child === 'function') {
          if (key === 'toJSON') return false;
        } else if (typeof child !== 'symbol') {
          if (key === TAG || !isPlainJson(child, depth + 1)) return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * The tag handed out for each Map, Set and escaped object during the current serialize call. Giving
 * the same container the same tag object lets JSON.stringify's own cycle check see a cycle that runs
 * through one (a fresh tag each time would recurse until the stack overflows).
 */
let containerTags: Map<object, Tag> | undefined;

function dateTag(date: Date): Tag {
  return { $rk: 'date', v: Number.isNaN(date.getTime()) ? null : date.toISOString() };
}

function bytesTag(bytes: Uint8Array): Tag {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { $rk: 'buffer', v: buffer.toString('base64') };
}

function containerTag(container: object, type: 'map' | 'set' | 'object', payload: () => unknown[]): Tag {
  containerTags ??= new Map();
  let tag = containerTags.get(container);
  if (tag === undefined) {
    tag = { $rk: type, v: payload() };
    containerTags.set(container, tag);
  }
  return tag;
}

/** An object with a `$rk` key of its own, written as its entries so it can never read back as a tag. */
function escapedObjectTag(value: object): Tag {
  return containerTag(value, 'object', () => Object.keys(value).map((key) => [key, (value as Holder)[key]]));
}

function replaceObject(holder: Holder, key: string, value: object): unknown {
  if (Array.isArray(value)) return value;
  // Plain objects, the common case, skip the instanceof chain.
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    if (value instanceof Map) return containerTag(value, 'map', () => Array.from(value));
    if (value instanceof Set) return containerTag(value, 'set', () => Array.from(value));
    if (value instanceof Uint8Array) return bytesTag(value);
    // Only reached when some toJSON returned a Date: JSON.stringify calls toJSON once per value.
    if (value instanceof Date) return dateTag(value);
  }
  // Buffer.prototype.toJSON has already turned a Buffer into { type: 'Buffer', data: [...] }; the
  // holder still has the Buffer itself. (That object need not be of this realm: under jest it is not.)
  if ((value as Holder).type === 'Buffer') {
    const raw = holder[key];
    if (raw instanceof Uint8Array || Buffer.isBuffer(raw)) return bytesTag(raw);
  }
  // Any other class instance goes on as JSON writes it: its own enumerable properties.
  return Object.hasOwn(value, TAG) ? escapedObjectTag(value) : value;
}

/**
 * The JSON.stringify replacer for values that need tags. It sees values after their `toJSON` ran,
 * so a Date arrives as a string (or null when invalid) and a Buffer as `{ type, data }`: `this[key]`
 * still holds the original.
 */
function replace(this: Holder, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'string': {
      const raw = this[key];
      return raw instanceof Date ? dateTag(raw) : value;
    }
    case 'number':
      if (Number.isFinite(value)) return value !== 0 || 1 / value > 0 ? value : NEGATIVE_ZERO_TAG;
      return value > 0 ? INFINITY_TAG : value < 0 ? NEGATIVE_INFINITY_TAG : NAN_TAG;
    case 'object': {
      if (value !== null) return replaceObject(this, key, value);
      const raw = this[key];
      return raw instanceof Date ? dateTag(raw) : null;
    }
    case 'undefined':
      return UNDEFINED_TAG;
    case 'bigint':
      return { $rk: 'bigint', v: value.toString() };
    default:
      // boolean; and function and symbol, which JSON.stringify then drops (null inside an array).
      return value;
  }
}

function malformed(type: string): TypeError {
  return new TypeError(`RichJsonSerializer cannot read a malformed "${type}" tag`);
}

/** Revives a map or object tag's payload in place and checks it is a list of pairs. */
function reviveEntries(type: string, payload: unknown): Array<[unknown, unknown]> {
  if (!Array.isArray(payload)) throw malformed(type);
  reviveTree(payload);
  for (const entry of payload) {
    if (!Array.isArray(entry) || entry.length !== 2) throw malformed(type);
  }
  return payload as Array<[unknown, unknown]>;
}

function reviveTag(type: unknown, payload: unknown): unknown {
  switch (type) {
    case 'date':
      if (payload !== null && typeof payload !== 'string') throw malformed(type);
      return new Date(payload ?? Number.NaN);
    case 'buffer':
      if (typeof payload !== 'string') throw malformed(type);
      return Buffer.from(payload, 'base64');
    case 'bigint':
      if (typeof payload !== 'string') throw malformed(type);
      return BigInt(payload);
    case 'number':
      if (typeof payload !== 'string') throw malformed(type);
      return Number(payload);
    case 'undefined':
      return undefined;
    case 'map':
      return new Map(reviveEntries(type, payload));
    case 'set':
      if (!Array.isArray(payload)) throw malformed(type);
      return new Set(reviveTree(payload) as unknown[]);
    case 'object':
      return Object.fromEntries(reviveEntries(type, payload) as Array<[string, unknown]>);
    default:
      throw new TypeError(`RichJsonSerializer cannot read unknown tag ${JSON.stringify(type)}`);
  }
}

/**
 * Replaces the tags in a JSON.parse result, in place, and returns the result (or what its root tag
 * stands for). A walk after JSON.parse, not a reviver: on Node 20 a reviver makes JSON.parse about
 * five times slower, the walk adds about a third.
 */
function reviveTree(value: object): unknown {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      if (typeof item === 'object' && item !== null) {
        const revived = reviveTree(item);
        if (revived !== item) value[index] = revived;
      }
    }
    return value;
  }
  const type = (value as Holder)[TAG];
  if (type !== undefined) return reviveTag(type, (value as Holder).v);
  const keys = Object.keys(value);
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index] as string;
    const child = (value as Holder)[key];
    if (typeof child === 'object' && child !== null) {
      const revived = reviveTree(child);
      // An own property, so even a "__proto__" key (JSON.parse makes it an own property) is set, not
      // the prototype.
      if (revived !== child) (value as Holder)[key] = revived;
    }
  }
  return value;
}

/**
 * JSON that keeps what JSON loses, for L2 values. Round-trips:
 *
 * - `Date` (invalid ones too), `BigInt`, `Map` with keys of any type, `Set`;
 * - `Buffer`; a plain `Uint8Array` reads back as a `Buffer` (a subclass, with the same bytes);
 * - `undefined` in arrays and as a property value (the property is kept), and at the top level;
 * - `NaN`, `Infinity`, `-Infinity` and `-0`.
 *
 * A value holding none of these serializes to exactly what `JSON.stringify` writes, and text holding
 * no tag is read by `JSON.parse` alone. The rest is written as tagged objects,
 * `{"$rk":"date","v":"2024-05-01T12:00:00.000Z"}`; an object of the caller's own that has a `$rk` key
 * is written as a tag of its entries, so user data can never be read back as a tag.
 *
 * As with JSON: other class instances become plain objects of their own enumerable properties (a
 * `toJSON` method is honoured), functions and symbols are dropped (`null` inside an array; a function
 * or symbol at the top level reads back as `undefined`), shared references are written once per
 * reference, and identity is not kept (a Map's object keys come back as equal, new objects).
 * Circular structures, including cycles through a Map or a Set, throw a `TypeError`.
 *
 * @example
 * const text = richJsonSerializer.serialize({ at: new Date(0), ids: new Set([1n]) });
 * richJsonSerializer.deserialize(text); // { at: Date(0), ids: Set { 1n } }
 */
export class RichJsonSerializer implements CacheSerializer {
  serialize(value: unknown): string {
    if (isPlainJson(value, 0)) return JSON.stringify(value);
    // Saved and restored so that a toJSON calling serialize() again cannot mix up two calls' state.
    const outer = containerTags;
    containerTags = undefined;
    try {
      const text: string | undefined = JSON.stringify(value, replace);
      return text ?? UNDEFINED_TEXT;
    } catch (error) {
      if (error instanceof TypeError && error.message.includes('circular')) {
        throw new TypeError(`RichJsonSerializer cannot serialize a circular structure: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      containerTags = outer;
    }
  }

  deserialize(text: string): unknown {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || !text.includes(TAG_MARK)) return value;
    return reviveTree(value);
  }
}

/** The default serializer of `CacheModule`. */
export const richJsonSerializer = new RichJsonSerializer();
