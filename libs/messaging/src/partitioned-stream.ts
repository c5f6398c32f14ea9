import { MessagingOptionsError } from './messaging.errors.js';

/** Most partitions a partitioned stream may have: each is a stream, a lease and a reading connection. */
export const MAX_PARTITIONS = 1_024;

/** Longest name of a partitioned stream: its partitions' names add `#<index>` to it. */
const MAX_NAME_LENGTH = 500;

/**
 * A stream spread over `partitions` ordinary streams, `<name>#0` to `<name>#<partitions - 1>`, each
 * under its own hash tag (`{<name>#<i>}`), so that on a Cluster they land on different shards. An
 * entry goes to the partition its partition key hashes to ({@link partitionOf}), so the entries of
 * one key stay in one stream, in the order they were published.
 *
 * @example
 * const orders: PartitionedStream = { name: 'orders', partitions: 6 };
 * await producer.publish(orders, 'order.placed', order, { partitionKey: order.accountId });
 */
export interface PartitionedStream {
  readonly name: string;
  /** How many streams, 1 to 1024. Every producer and consumer of the stream must use the same count. */
  readonly partitions: number;
}

/**
 * The partition of `key` among `partitions`: the 32-bit FNV-1a hash of the key's UTF-8 bytes
 * (unsigned), modulo `partitions`. Stable across processes, versions and languages (see the README's
 * wire format); a lone UTF-16 surrogate counts as U+FFFD, as every UTF-8 encoder writes it.
 */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    let code = key.charCodeAt(index);
    if (code < 0x80) {
      hash = Math.imul(hash ^ code, 0x01000193);
      continue;
    }
    if (code < 0x800) {
      hash = Math.imul(hash ^ (0xc0 | (code >> 6)), 0x01000193);
      hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193);
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = key.charCodeAt(index + 1);
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        index += 1;
        hash = Math.imul(hash ^ (0xf0 | (code >> 18)), 0x01000193);
        hash = Math.imul(hash ^ (0x80 | ((code >> 12) & 0x3f)), 0x01000193);
        hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193);
        hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193);
        continue;
      }
      code = 0xfffd;
    }
    hash = Math.imul(hash ^ (0xe0 | (code >> 12)), 0x01000193);
    hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193);
    hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/** The name of partition `index` of the stream `name`: `<name>#<index>`. */
export function partitionStreamName(name: string, index: number): string {
  return `${name}#${index}`;
}

/**
 * Checks a {@link PartitionedStream} (a name of 1 to 500 characters, 1 to 1024 partitions); `option`
 * names it in the error.
 */
export function checkPartitionedStream(stream: unknown, option = 'stream'): PartitionedStream {
  if (stream === null || typeof stream !== 'object') {
    throw new MessagingOptionsError(
      option,
      `must be a stream name or { name, partitions }, got ${String(stream)}`,
    );
  }
  const { name, partitions } = stream as Partial<PartitionedStream>;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new MessagingOptionsError(
      `${option}.name`,
      `must be a string of 1 to ${MAX_NAME_LENGTH} characters, got ${JSON.stringify(name) ?? String(name)}`,
    );
  }
  if (
    typeof partitions !== 'number' ||
    !Number.isInteger(partitions) ||
    partitions < 1 ||
    partitions > MAX_PARTITIONS
  ) {
    throw new MessagingOptionsError(
      `${option}.partitions`,
      `must be a whole number from 1 to ${MAX_PARTITIONS}, got ${String(partitions)}`,
    );
  }
  return stream as PartitionedStream;
}

/**
 * The partition stream an entry of `partitionKey` goes to. Throws {@link MessagingOptionsError}
 * when the stream is invalid or the key missing.
 */
export function partitionStreamOf(stream: PartitionedStream, partitionKey: unknown): string {
  checkPartitionedStream(stream);
  if (typeof partitionKey !== 'string') {
    throw new MessagingOptionsError(
      'partitionKey',
      `is required to publish to the partitioned stream "${stream.name}" (a string: the entries of one key keep their order), got ${typeof partitionKey}`,
    );
  }
  return partitionStreamName(stream.name, partitionOf(partitionKey, stream.partitions));
}
