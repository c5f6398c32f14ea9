/** How many hash slots a Redis Cluster has. */
const HASH_SLOTS = 16_384;

/** CRC16/XMODEM, the checksum Redis Cluster hashes keys and shard channels with. */
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

/**
 * The Redis Cluster hash slot of a key or shard channel, as `CLUSTER KEYSLOT` computes it: CRC16 of
 * its UTF-8 bytes (of its `{hash tag}` when it has a non-empty one), modulo 16384.
 *
 * @example
 * clusterKeySlot('trade.executed'); // the same number as CLUSTER KEYSLOT trade.executed
 */
export function clusterKeySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  let crc = 0;
  for (let index = 0; index < hashed.length; index += 1) {
    const code = hashed.charCodeAt(index);
    // ASCII is its own UTF-8: no buffer for the common case.
    if (code >= 0x80) return crc16Utf8(hashed);
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ code) & 0xff] as number);
  }
  return crc % HASH_SLOTS;
}

function crc16Utf8(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  }
  return crc % HASH_SLOTS;
}
