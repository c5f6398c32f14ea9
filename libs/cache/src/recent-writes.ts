/**
 * The keys written or invalidated in the last `windowMs`, by this instance or (through the
 * invalidation transport) by another: while a key is in the window, a replica may still hold its
 * previous value, so its reads go to the primary. Whole namespaces (`clear`) and everything (the
 * invalidation subscriber lost messages) are windows of their own.
 *
 * Cheap on the read path: a lookup in a Map that holds only the window's keys. Every window is the
 * same length, so re-inserting a key on each write keeps the Map in expiry order, and expired keys
 * are pruned from its front in amortized O(1).
 */
export class RecentWrites {
  private readonly keys = new Map<string, number>();
  private readonly prefixes = new Map<string, number>();
  private everythingUntil = 0;

  constructor(private readonly windowMs: number) {}

  /** `key` was just written or dropped. */
  noteKey(key: string, now = Date.now()): void {
    this.prune(now);
    // Deleted first, so the key moves to the end: the Map stays ordered by expiry.
    this.keys.delete(key);
    this.keys.set(key, now + this.windowMs);
  }

  noteKeys(keys: readonly string[], now = Date.now()): void {
    for (const key of keys) this.noteKey(key, now);
  }

  /** Every key starting with `prefix` (a namespace) was just dropped. */
  notePrefix(prefix: string, now = Date.now()): void {
    this.prefixes.set(prefix, now + this.windowMs);
  }

  /** Any key may have changed unseen (the invalidation subscriber missed messages). */
  noteEverything(now = Date.now()): void {
    this.everythingUntil = now + this.windowMs;
  }

  /** Whether `key` was written or dropped less than `windowMs` ago. */
  covers(key: string, now = Date.now()): boolean {
    if (this.everythingUntil > now) return true;
    if (this.keys.size > 0) {
      const until = this.keys.get(key);
      if (until !== undefined && until > now) return true;
    }
    if (this.prefixes.size > 0) {
      for (const [prefix, until] of this.prefixes) {
        if (until <= now) this.prefixes.delete(prefix);
        else if (key.startsWith(prefix)) return true;
      }
    }
    return false;
  }

  /** Keys still in the window (for tests and the README's cost note). */
  get size(): number {
    return this.keys.size;
  }

  private prune(now: number): void {
    for (const [key, until] of this.keys) {
      if (until > now) return;
      this.keys.delete(key);
    }
  }
}
