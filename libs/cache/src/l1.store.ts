import { LRUCache } from 'lru-cache';

import type { LocalEntry } from './cache-entry.js';
import type { L1InvalidationTarget } from './l1-invalidation.interface.js';

/**
 * The in-process level: an LRU bounded by entry count and by bytes (the serialized size of each
 * value), each entry dropped by lru-cache once its grace ends. Values are kept deserialized, so a
 * hit costs a map lookup; callers must not mutate what they get.
 */
export class L1Store implements L1InvalidationTarget {
  private readonly lru: LRUCache<string, LocalEntry>;
  /**
   * Invalidation clock. A read of L2 that began before an invalidation of its key must not put
   * what it read into L1 afterwards: it may be the very value the invalidation was about. Drops of
   * single keys are remembered per key, so writes to other keys do not cost fills.
   */
  private generation = 0;
  /** Generation of the last drop that may have touched any key (a prefix, all, or a memo reset). */
  private broadGeneration = 0;
  private readonly keyDrops = new Map<string, number>();

  constructor(maxEntries: number, maxBytes: number) {
    this.lru = new LRUCache<string, LocalEntry>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.size),
      // Expiry is checked by the cache itself against the entry's deadlines; lru-cache's TTL only
      // frees memory, so it need not look at the clock on every get.
      ttlAutopurge: false,
      allowStale: false,
    });
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get(key: string): LocalEntry | undefined {
    return this.lru.get(key);
  }

  set(key: string, entry: LocalEntry, now: number): void {
    const ttl = entry.staleUntil - now;
    if (ttl > 0) this.lru.set(key, entry, { ttl });
    else this.lru.delete(key);
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  /** The invalidation clock now; pass it to {@link changedSince} after a read. */
  now(): number {
    return this.generation;
  }

  /** Whether `key` was (or may have been) invalidated after `generation`. */
  changedSince(key: string, generation: number): boolean {
    return this.broadGeneration > generation || (this.keyDrops.get(key) ?? -1) > generation;
  }

  dropKeys(keys: readonly string[]): void {
    this.generation += 1;
    if (this.keyDrops.size + keys.length > 10_000) {
      this.keyDrops.clear();
      this.broadGeneration = this.generation;
    }
    for (const key of keys) {
      this.keyDrops.set(key, this.generation);
      this.lru.delete(key);
    }
  }

  dropPrefix(prefix: string): void {
    this.broadGeneration = ++this.generation;
    for (const key of [...this.lru.keys()]) if (key.startsWith(prefix)) this.lru.delete(key);
  }

  dropAll(): void {
    this.broadGeneration = ++this.generation;
    this.lru.clear();
  }
}
