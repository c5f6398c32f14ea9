import type { RedisKeyspace } from '@redkit/redis';

/** Stream names kept with their keys; bounded so that callers inventing names cannot grow it forever. */
const MAX_CACHED_NAMES = 1_000;

/**
 * Keys of a stream and of its dead-letter stream: `<prefix>:messaging:{<stream>}:stream` and
 * `<prefix>:messaging:{<stream>}:dead-letter`. They share the hash tag so that one script may move an
 * entry from one to the other on a Cluster. The stream name is encoded as a key part.
 */
export class StreamKeys {
  private readonly cache = new Map<string, { stream: string; deadLetter: string }>();

  constructor(private readonly keyspace: RedisKeyspace) {}

  of(stream: string): { stream: string; deadLetter: string } {
    let keys = this.cache.get(stream);
    if (keys !== undefined) return keys;
    keys = {
      stream: this.keyspace.tagged(stream, 'stream'),
      deadLetter: this.keyspace.tagged(stream, 'dead-letter'),
    };
    if (this.cache.size < MAX_CACHED_NAMES) this.cache.set(stream, keys);
    return keys;
  }
}
