import { createHash } from 'node:crypto';

import { InvalidKeyPartError } from './redis.errors.js';

/** What to do with a key part longer than the limit. */
export type LongKeyPartPolicy = 'reject' | 'hash';

export interface KeyPartOptions {
  /** Longest part in UTF-8 bytes, before encoding. */
  maxPartBytes: number;
  /** `reject` (default) throws {@link InvalidKeyPartError}; `hash` replaces the part by its SHA-256. */
  onTooLong?: LongKeyPartPolicy;
}

/**
 * Characters a user-supplied part may not carry as they are: `%` (the escape itself), `:` (the
 * separator), `{` `}` (hash tags), SCAN glob characters `* ? [ ] \`, and control characters.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[%:{}*?[\]\\\x00-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_GLOBAL = /[%:{}*?[\]\\\x00-\x1f\x7f]/g;

function escapeCharacter(character: string): string {
  return `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * Encodes one user-supplied key part so that it can neither collide with another part nor change
 * the key's structure: unsafe characters are percent-encoded (an injective mapping), empty parts and
 * non-strings are refused, and long parts are refused or hashed. A hashed part reads `%H<sha256>`,
 * which no encoded part can equal because `%` is always followed by two hex digits there.
 */
export function encodeKeyPart(part: string, options: KeyPartOptions): string {
  if (typeof part !== 'string')
    throw new InvalidKeyPartError(`key part must be a string, got ${typeof part}`);
  if (part.length === 0) throw new InvalidKeyPartError('key part must not be empty');
  // Byte length is at least the UTF-16 length; only compute it when the part might be too long.
  if (part.length * 3 > options.maxPartBytes && Buffer.byteLength(part) > options.maxPartBytes) {
    if (options.onTooLong === 'hash') return `%H${createHash('sha256').update(part).digest('hex')}`;
    throw new InvalidKeyPartError(
      `key part is ${Buffer.byteLength(part)} bytes, more than the ${options.maxPartBytes} allowed`,
    );
  }
  return UNSAFE.test(part) ? part.replace(UNSAFE_GLOBAL, escapeCharacter) : part;
}

/**
 * Builds the keys of one module: `<prefix>:<module>:<part>:<part>`. Parts given by users are
 * encoded with {@link encodeKeyPart}. Keys that one Lua script touches together should come from
 * {@link RedisKeyspace.tagged} with the same tag, so they hash to one Cluster slot.
 *
 * @example
 * const keys = connection.keyspace('lock');
 * keys.tagged(resource, 'owner'); // redkit:lock:{orders%3A42}:owner
 * keys.tagged(resource, 'fence'); // redkit:lock:{orders%3A42}:fence
 */
export class RedisKeyspace {
  /** `<prefix>:<module>:`, the start of every key of this module. */
  readonly base: string;
  private readonly partOptions: KeyPartOptions;

  constructor(
    readonly prefix: string,
    readonly module: string,
    options: { maxPartBytes?: number; onTooLong?: LongKeyPartPolicy } = {},
  ) {
    if (!/^[a-z0-9-]{1,32}$/.test(module)) {
      throw new InvalidKeyPartError(`module name must be 1-32 of a-z 0-9 -, got ${JSON.stringify(module)}`);
    }
    this.base = `${prefix}:${module}:`;
    this.partOptions = {
      maxPartBytes: options.maxPartBytes ?? 512,
      onTooLong: options.onTooLong ?? 'reject',
    };
  }

  /** Encodes one user-supplied part with this keyspace's limits. */
  part(value: string): string {
    return encodeKeyPart(value, this.partOptions);
  }

  /** `<base><part>:<part>...`; every part is encoded. */
  key(...parts: string[]): string {
    let key = this.base;
    for (let index = 0; index < parts.length; index += 1) {
      key += index === 0 ? this.part(parts[index] as string) : `:${this.part(parts[index] as string)}`;
    }
    return key;
  }

  /** `<base>{<tag>}:<part>...`: keys sharing a tag land in one Cluster slot. */
  tagged(tag: string, ...parts: string[]): string {
    let key = `${this.base}{${this.part(tag)}}`;
    for (const part of parts) key += `:${this.part(part)}`;
    return key;
  }

  /**
   * A SCAN MATCH pattern for every key of this module, or of one tag. Encoded parts never contain
   * glob characters, so no escaping is needed beyond the braces of the tag.
   */
  pattern(tag?: string): string {
    return tag === undefined ? `${this.base}*` : `${this.base}\\{${this.part(tag)}\\}*`;
  }
}
