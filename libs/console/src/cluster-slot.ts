import type { RedisClient } from '@redkit/redis';
import { Cluster, type Redis } from 'ioredis';

/** CRC16/XMODEM, the checksum Redis Cluster hashes keys with. */
const CRC16_TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit += 1)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/** The Cluster slot of `key` (its `{hash tag}` when it has a non-empty one). */
export function slotOf(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  }
  return crc % 16_384;
}

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
