/**
 * Memoizes expensive reads for a short time, per key: every caller within `ttlMs` of a read shares
 * its answer (or its pending promise), so ten open pages and the live stream cost Redis one read a
 * second, not ten. A failed read is not kept. Bounded: at most `maxKeys` keys, the oldest dropped.
 */
export class SecondCache {
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(
    private readonly ttlMs = 1_000,
    private readonly maxKeys = 1_000,
  ) {}

  /** The value read within the last `ttlMs`, or a fresh `read()`. */
  get<T>(key: string, read: () => Promise<T>, now = Date.now()): Promise<T> {
    const entry = this.entries.get(key);
    if (entry !== undefined && now - entry.at < this.ttlMs) return entry.value as Promise<T>;
    return this.refresh(key, read, now);
  }

  /** A fresh `read()`, kept for the callers of the next `ttlMs` (the live stream's own ticks). */
  refresh<T>(key: string, read: () => Promise<T>, now = Date.now()): Promise<T> {
    const value = read();
    this.entries.delete(key);
    this.entries.set(key, { at: now, value });
    if (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  /** Forgets `key`'s value (one read found it out of date). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets everything (after an action, so that the next read shows its effect). */
  clear(): void {
    this.entries.clear();
  }
}
