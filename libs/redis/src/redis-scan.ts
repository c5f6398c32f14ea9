import { Cluster, type Redis } from 'ioredis';

import type { RedisClient } from './redis-client.js';

/**
 * Yields every key matching `pattern`, in batches, with SCAN (never KEYS, which blocks the server).
 * On a Cluster it scans each master in turn. Keys may repeat if they move during the scan; callers
 * that delete them do not mind.
 */
export async function* scanKeys(client: RedisClient, pattern: string, count = 500): AsyncGenerator<string[]> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
