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
 */
export function encodeEntry(freshUntil: number, staleUntil: number, payload: string): string {
  return `${freshUntil}:${staleUntil}:${payload}`;
}

/** Parses what {@link encodeEntry} wrote; undefined for anything else (a foreign or corrupt value). */
export function decodeEntry(text: string, serializer: CacheSerializer): LocalEntry | undefined {
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (second < 0) return undefined;
  const freshUntil = Number(text.slice(0, first));
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
