// The checksum clients use to verify a depth snapshot: CRC-32 (IEEE 802.3, the one zlib, PNG and
// Ethernet use) over the top levels, interleaved bid/ask, as OKX's depth feed does.

// Signed 32-bit entries: XORs of int32 values stay small integers in V8, where uint32 entries above
// 2^31 would turn every step into floating-point arithmetic (about ten times slower).
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** Feeds the ASCII characters of `text` into a running CRC (pre-inverted); -1 marks a non-ASCII character. */
function update(crc: number, text: string): number | undefined {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code > 0x7f) return undefined;
    crc = (CRC_TABLE[(crc ^ code) & 0xff] as number) ^ (crc >>> 8);
  }
  return crc;
}

const COLON = 0x3a;

/**
 * CRC-32 (IEEE) of a string of ASCII characters, as an unsigned 32-bit number. Level strings are
 * digits, `.` and `:` only, so each UTF-16 code unit is the byte itself and no encoding step is needed.
 * Characters above 0x7f are encoded as UTF-8 first, so the function is right for any string.
 */
export function crc32(text: string): number {
  const crc = update(-1, text);
  return crc === undefined ? crc32Bytes(Buffer.from(text, 'utf8')) : (crc ^ -1) >>> 0;
}

/** CRC-32 (IEEE) of bytes, unsigned. */
export function crc32Bytes(bytes: Uint8Array): number {
  let crc = -1;
  for (let index = 0; index < bytes.length; index += 1) {
    crc = (CRC_TABLE[(crc ^ (bytes[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}

/**
 * The text a book checksum is computed over: the top levels as `price:quantity` with normalised
 * decimals, interleaved best first (`bid1:ask1:bid2:ask2:...`), joined by `:`; when one side has
 * fewer levels, the other side's remaining levels follow alone. An empty book is the empty string.
 * `bids` and `asks` hold `price:quantity` strings already.
 *
 * @example checksumText(['100.5:2', '100:1'], ['101:3']) === '100.5:2:101:3:100:1'
 */
export function checksumText(bids: readonly string[], asks: readonly string[]): string {
  let text = '';
  const longest = Math.max(bids.length, asks.length);
  for (let index = 0; index < longest; index += 1) {
    const bid = bids[index];
    const ask = asks[index];
    if (bid !== undefined) text = text.length === 0 ? bid : `${text}:${bid}`;
    if (ask !== undefined) text = text.length === 0 ? ask : `${text}:${ask}`;
  }
  return text;
}

/**
 * The book checksum: `crc32(checksumText(bids, asks))`, an unsigned 32-bit integer. Computed level
 * by level, without building the text.
 */
export function bookChecksum(bids: readonly string[], asks: readonly string[]): number {
  let crc: number | undefined = -1;
  let first = true;
  const longest = Math.max(bids.length, asks.length);
  for (let index = 0; index < longest && crc !== undefined; index += 1) {
    const bid = bids[index];
    const ask = asks[index];
    if (bid !== undefined) {
      if (!first) crc = (CRC_TABLE[(crc ^ COLON) & 0xff] as number) ^ (crc >>> 8);
      crc = update(crc, bid);
      first = false;
    }
    if (ask !== undefined && crc !== undefined) {
      if (!first) crc = (CRC_TABLE[(crc ^ COLON) & 0xff] as number) ^ (crc >>> 8);
      crc = update(crc, ask);
      first = false;
    }
  }
  return crc === undefined ? crc32(checksumText(bids, asks)) : (crc ^ -1) >>> 0;
}

/**
 * {@link bookChecksum} of levels given as ranges of one string: `bids` and `asks` hold
 * `start, end` offsets into `text`, each range one `price:quantity`. The read path uses it on the
 * reply itself, without slicing a string per level.
 */
export function bookChecksumOfRanges(text: string, bids: readonly number[], asks: readonly number[]): number {
  let crc = -1;
  const longest = Math.max(bids.length, asks.length);
  for (let index = 0; index < longest; index += 2) {
    if (index < bids.length) {
      if (index > 0) crc = (CRC_TABLE[(crc ^ COLON) & 0xff] as number) ^ (crc >>> 8);
      crc = updateRange(crc, text, bids[index] as number, bids[index + 1] as number);
      if (crc === NON_ASCII) return bookChecksum(slices(text, bids), slices(text, asks));
    }
    if (index < asks.length) {
      if (index > 0 || index < bids.length) crc = (CRC_TABLE[(crc ^ COLON) & 0xff] as number) ^ (crc >>> 8);
      crc = updateRange(crc, text, asks[index] as number, asks[index + 1] as number);
      if (crc === NON_ASCII) return bookChecksum(slices(text, bids), slices(text, asks));
    }
  }
  return (crc ^ -1) >>> 0;
}

/** Not a CRC state: the CRC state lives in int32, this is a double. */
const NON_ASCII = 0.5;

/** Feeds `text[start, end)` into a running CRC; {@link NON_ASCII} when a character is not ASCII. */
function updateRange(crc: number, text: string, start: number, end: number): number {
  for (let at = start; at < end; at += 1) {
    const code = text.charCodeAt(at);
    if (code > 0x7f) return NON_ASCII;
    crc = (CRC_TABLE[(crc ^ code) & 0xff] as number) ^ (crc >>> 8);
  }
  return crc;
}

function slices(text: string, ranges: readonly number[]): string[] {
  const out: string[] = [];
  for (let index = 0; index < ranges.length; index += 2)
    out.push(text.slice(ranges[index], ranges[index + 1]));
  return out;
}
