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
 * separator), `{` `}` (hash tags), SCAN glob characters `* ? [ ] \`, and control characters. The
 * table holds each one's escape (`%3A`), so encoding is one pass over the part with no regular
 * expression and no string built per escaped character (key parts are encoded on hot paths: a
 * rate-limit identity `ip:1.2.3.4` on every request, a lock resource on every acquisition).
 */
const ESCAPES: ReadonlyArray<string | undefined> = (() => {
  const table: Array<string | undefined> = new Array(128).fill(undefined);
  const escape = (code: number) => `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
  for (let code = 0; code <= 0x1f; code += 1) table[code] = escape(code);
  table[0x7f] = escape(0x7f);
  for (const character of '%:{}*?[]\\') table[character.charCodeAt(0)] = escape(character.charCodeAt(0));
  return table;
})();

/** `part` with every unsafe character percent-encoded; `part` itself when it has none. */
function escapeUnsafe(part: string): string {
  let encoded: string | undefined;
  let copied = 0;
  for (let index = 0; index < part.length; index += 1) {
    const code = part.charCodeAt(index);
    const escape = code < 128 ? ESCAPES[code] : undefined;
    if (escape === undefined) continue;
    encoded = (encoded ?? '') + part.slice(copied, index) + escape;
    copied = index + 1;
  }
  return encoded === undefined ? part : encoded + part.slice(copied);
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
  return escapeUnsafe(part);
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
