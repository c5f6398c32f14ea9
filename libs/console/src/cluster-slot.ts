import { clusterKeySlot, type RedisClient } from '@redkit/redis';
import { Cluster, type Redis } from 'ioredis';

/** The Cluster slot of `key` (its `{hash tag}` when it has a non-empty one). */
export const slotOf = clusterKeySlot;

/**
 * The connection to send a keyed command to when ioredis cannot tell the key itself (XINFO,
 * MEMORY USAGE: their key comes after a subcommand). On a Cluster it is the master that holds the
 * key's slot, so the command never pays a MOVED redirect (which also makes ioredis refresh its whole
 * slot map); elsewhere the client itself.
 */
export function nodeForKey(client: RedisClient, key: string): RedisClient {
  if (!(client instanceof Cluster)) return client;
  const address = client.slots[slotOf(key)]?.[0];
  if (address === undefined) return client;
  const node = client
    .nodes('master')
    .find((candidate: Redis) => `${candidate.options.host}:${candidate.options.port}` === address);
  return node ?? client;
}
