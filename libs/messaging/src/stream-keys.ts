import type { RedisKeyspace } from '@redkit/redis';

import { MESSAGE_PRIORITIES, type MessagePriority } from './stream-message.js';

/** Stream names kept with their keys; bounded so that callers inventing names cannot grow it forever. */
const MAX_CACHED_NAMES = 1_000;

/** The keys of one stream. */
export interface StreamKeySet {
  /** The `normal` lane: the stream's key from before there were lanes. */
  stream: string;
  deadLetter: string;
  /** One key per lane, in {@link MESSAGE_PRIORITIES} order (highest first); `normal` is `stream`. */
  lanes: readonly string[];
}

/**
 * Keys of a stream, its priority lanes and its dead-letter stream: `<prefix>:messaging:{<stream>}:stream`
 * (the `normal` lane), `...:{<stream>}:stream:critical`, `:stream:high`, `:stream:low`, and
 * `...:{<stream>}:dead-letter`. They share the hash tag so that one script may move an entry from
 * one to another on a Cluster, and one XREADGROUP may read every lane. The stream name is encoded as
 * a key part.
 */
export class StreamKeys {
  private readonly cache = new Map<string, StreamKeySet>();

  constructor(private readonly keyspace: RedisKeyspace) {}

  of(stream: string): StreamKeySet {
    let keys = this.cache.get(stream);
    if (keys !== undefined) return keys;
    const normal = this.keyspace.tagged(stream, 'stream');
    keys = {
      stream: normal,
      deadLetter: this.keyspace.tagged(stream, 'dead-letter'),
      lanes: Object.freeze(
        MESSAGE_PRIORITIES.map((priority: MessagePriority) =>
          priority === 'normal' ? normal : this.keyspace.tagged(stream, 'stream', priority),
        ),
      ),
    };
    if (this.cache.size < MAX_CACHED_NAMES) this.cache.set(stream, keys);
    return keys;
  }
}
