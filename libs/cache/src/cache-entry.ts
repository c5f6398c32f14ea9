import type { CacheSerializer } from './cache-serializer.interface.js';

/**
 * One cached value with its two deadlines (epoch ms): fresh until `freshUntil`, servable stale (in
 * grace) until `staleUntil`. `size` is the serialized length in bytes, what L1's byte bound counts.
 */
export interface CacheEntry {
  value: unknown;
  freshUntil: number;
  staleUntil: number;
  size: number;
}

/** An entry as L1 holds it: `localUntil` is when L1 must ask L2 again (`l1TtlMs`). */
export interface LocalEntry extends CacheEntry {
  localUntil: number;
}

/**
 * L2 stores `<freshUntil>:<staleUntil>:<payload>`: the deadlines travel with the value so every
 * instance agrees on freshness, and reading them takes two indexOf calls, not a JSON parse.
 *
 * With distributed single-flight the same key also carries the loading instance's lease, so that
 * reading the entry and taking the lease is one command (`SET NX GET`) and storing the value ends
 * the lease (`SET GET`). A lease starts with `~`, which no entry does:
 * - `~<token>` on a key that held nothing (its own PX is the lease's length);
 * - `~<token>|<leaseUntil>|<entry>` over an entry being reloaded (stale, in grace), which stays
 *   readable; the key keeps the entry's TTL and `leaseUntil` (the server's clock) ends the lease;
 * - a `+` after the token marks a lease someone waits on, so its holder announces the landing.
 */
export function encodeEntry(freshUntil: number, staleUntil: number, payload: string): string {
  return `${freshUntil}:${staleUntil}:${payload}`;
}

/** What starts every lease written into an entry's key. */
export const LEASE_MARK = '~';

/**
 * Parses what {@link encodeEntry} wrote; undefined for anything else (a foreign or corrupt value, a
 * bare lease). An entry under a lease is decoded as the entry.
 */
export function decodeEntry(text: string, serializer: CacheSerializer): LocalEntry | undefined {
  let start = 0;
  if (text.startsWith(LEASE_MARK)) {
    const bar = text.indexOf('|');
    start = bar < 0 ? -1 : text.indexOf('|', bar + 1) + 1;
    if (start <= 0) return undefined;
  }
  const first = text.indexOf(':', start);
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (second < 0) return undefined;
  const freshUntil = Number(text.slice(start, first));
  const staleUntil = Number(text.slice(first + 1, second));
  if (!Number.isFinite(freshUntil) || !Number.isFinite(staleUntil)) return undefined;
  const payload = text.slice(second + 1);
  // localUntil is set when the entry goes into L1.
  return {
    value: serializer.deserialize(payload),
    freshUntil,
    staleUntil,
    size: Buffer.byteLength(payload),
    localUntil: 0,
  };
}
