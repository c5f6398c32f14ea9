import type { LocalEntry } from './cache-entry.js';
import type { L1InvalidationTarget } from './l1-invalidation.interface.js';

/** An entry as L1 holds it: the cached entry, its Redis key, and its place in the recency order. */
interface L1Node extends LocalEntry {
  readonly key: string;
  /** Its slot in the recency lists; stable while the node is held. */
  readonly slot: number;
  /** What it counts against the byte bound (at least 1; its JSON text's length too, once made). */
  weight: number;
  /** The value's JSON text, made on the first {@link L1Store.jsonOf} and kept with the entry. */
  json: string | undefined;
  /** The index that also finds it by the caller's own key, if it was stored with one. */
  readonly index: L1KeyIndex | undefined;
  readonly indexKey: string;
}

/**
 * One namespace's view of L1: its entries by the key the user gave, so that a hit costs one map
 * lookup instead of building (or looking up) the Redis key and then looking that up. It holds
 * exactly the entries L1 holds for the namespace; only {@link L1Store} changes it.
 */
export class L1KeyIndex {
  /** @internal */
  readonly nodes = new Map<string, L1Node>();
}

/** No slot: the end of a recency list. */
const NONE = 0xffff_ffff;

/**
 * The in-process level: a least-recently-used store bounded by entry count and by bytes (the
 * serialized size of each value). An entry is dropped once its grace ends (checked when it is read;
 * the caller's clock, no timers). Values are kept deserialized, so a hit costs a map lookup; callers
 * must not mutate what they get.
 *
 * The recency order lives in two typed arrays of slots (next, previous) rather than in links between
 * entry objects, so moving an entry to the recent end touches a few words of compact memory, not
 * three entries scattered over the heap. Entries stored with an {@link L1KeyIndex} are also found by
 * the user's key, which is what the cache's read paths use.
 */
export class L1Store implements L1InvalidationTarget {
  private readonly byKey = new Map<string, L1Node>();
  private readonly slots: Array<L1Node | undefined>;
  private readonly next: Uint32Array;
  private readonly previous: Uint32Array;
  /** Least recently used, most recently used. */
  private head = NONE;
  private tail = NONE;
  /** Slots never used yet start here; freed ones wait in `free`. */
  private fresh = 0;
  private readonly free: number[] = [];
  private weight = 0;
  private readonly indexes = new Set<L1KeyIndex>();
  /**
   * Invalidation clock. A read of L2 that began before an invalidation of its key must not put
   * what it read into L1 afterwards: it may be the very value the invalidation was about. Drops of
   * single keys are remembered per key, so writes to other keys do not cost fills.
   */
  private generation = 0;
  /** Generation of the last drop that may have touched any key (a prefix, all, or a memo reset). */
  private broadGeneration = 0;
  private readonly keyDrops = new Map<string, number>();
  /**
   * Set by {@link suspendHits} until the next {@link dropAll}: entries are kept (served when Redis
   * fails) but none is a local hit, since no invalidation would reach them.
   */
  private hitsSuspended = false;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {
    this.slots = new Array<L1Node | undefined>(maxEntries).fill(undefined);
    this.next = new Uint32Array(maxEntries);
    this.previous = new Uint32Array(maxEntries);
  }

  get size(): number {
    return this.byKey.size;
  }

  get bytes(): number {
    return this.weight;
  }

  /** A new index by user key, for one namespace. */
  createIndex(): L1KeyIndex {
    const index = new L1KeyIndex();
    this.indexes.add(index);
    return index;
  }

  /**
   * The entry under `key` (a Redis key), made the most recently used; undefined once its grace has
   * ended at `now` (it is dropped then).
   */
  get(key: string, now: number = Date.now()): LocalEntry | undefined {
    const node = this.byKey.get(key);
    return node === undefined ? undefined : this.use(node, now);
  }

  /** Like {@link get}, by the user's key in one namespace's index: the path of every cache read. */
  read(index: L1KeyIndex, key: string, now: number): LocalEntry | undefined {
    const node = index.nodes.get(key);
    return node === undefined ? undefined : this.use(node, now);
  }

  /**
   * Stores `entry` under `key` (a Redis key) until its grace ends, most recently used, evicting the
   * least recently used entries beyond the bounds. With `index`, it is also found there by `indexKey`.
   * An entry larger than the whole byte bound is not stored (and replaces nothing: the key is dropped).
   */
  set(key: string, entry: LocalEntry, now: number, index?: L1KeyIndex, indexKey = ''): void {
    const weight = Math.max(1, entry.size);
    if (entry.staleUntil <= now || weight > this.maxBytes) {
      this.delete(key);
      return;
    }
    const existing = this.byKey.get(key);
    if (existing !== undefined) this.remove(existing);
    const slot = this.takeSlot();
    const node: L1Node = {
      value: entry.value,
      freshUntil: entry.freshUntil,
      staleUntil: entry.staleUntil,
      size: entry.size,
      localUntil: this.hitsSuspended ? 0 : entry.localUntil,
      key,
      slot,
      weight,
      json: undefined,
      index,
      indexKey,
    };
    this.slots[slot] = node;
    this.link(slot);
    this.byKey.set(key, node);
    index?.nodes.set(indexKey, node);
    this.weight += weight;
    while (this.weight > this.maxBytes && this.head !== slot) this.evictOldest();
  }

  /**
   * The JSON text of `entry`'s value, an entry {@link get} or {@link read} returned: made once
   * (`JSON.stringify`, which may throw) and kept with the entry while L1 holds it, its length counted
   * against the byte bound, so that sending a hit as JSON does not serialize it again. Undefined for
   * a value JSON has no text for (undefined, a function).
   */
  jsonOf(entry: LocalEntry): string | undefined {
    const node = entry as L1Node;
    if (node.json !== undefined) return node.json;
    const json = JSON.stringify(node.value) as string | undefined;
    if (json !== undefined && this.byKey.get(node.key) === node) {
      node.json = json;
      node.weight += json.length;
      this.weight += json.length;
      while (this.weight > this.maxBytes && this.head !== node.slot) this.evictOldest();
    }
    return json;
  }

  delete(key: string): void {
    const node = this.byKey.get(key);
    if (node !== undefined) this.remove(node);
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
      this.delete(key);
    }
  }

  dropPrefix(prefix: string): void {
    this.broadGeneration = ++this.generation;
    for (const node of [...this.byKey.values()]) if (node.key.startsWith(prefix)) this.remove(node);
  }

  dropAll(): void {
    this.hitsSuspended = false;
    this.broadGeneration = ++this.generation;
    this.byKey.clear();
    for (const index of this.indexes) index.nodes.clear();
    this.slots.fill(undefined);
    this.head = NONE;
    this.tail = NONE;
    this.fresh = 0;
    this.free.length = 0;
    this.weight = 0;
  }

  /**
   * Invalidations may be missed until the next {@link dropAll}: every entry, present and to come,
   * stops answering reads alone (`localUntil` 0), so reads go to Redis and fall back on the entry
   * only while Redis fails. Rare (a lost subscriber), so a walk over L1 is fine.
   */
  suspendHits(): void {
    this.hitsSuspended = true;
    for (const node of this.byKey.values()) node.localUntil = 0;
  }

  private use(node: L1Node, now: number): LocalEntry | undefined {
    if (node.staleUntil <= now) {
      this.remove(node);
      return undefined;
    }
    const { slot } = node;
    if (slot !== this.tail) {
      this.unlink(slot);
      this.link(slot);
    }
    return node;
  }

  /** A free slot; when every slot is taken, the least recently used entry's. */
  private takeSlot(): number {
    if (this.free.length > 0) return this.free.pop() as number;
    if (this.fresh < this.maxEntries) return this.fresh++;
    this.evictOldest();
    return this.free.pop() as number;
  }

  private evictOldest(): void {
    const node = this.slots[this.head];
    if (node !== undefined) this.remove(node);
  }

  private remove(node: L1Node): void {
    this.byKey.delete(node.key);
    if (node.index !== undefined && node.index.nodes.get(node.indexKey) === node) {
      node.index.nodes.delete(node.indexKey);
    }
    this.unlink(node.slot);
    this.slots[node.slot] = undefined;
    this.free.push(node.slot);
    this.weight -= node.weight;
  }

  /** Appends `slot` at the most recently used end. */
  private link(slot: number): void {
    this.previous[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
  }

  private unlink(slot: number): void {
    const before = this.previous[slot] as number;
    const after = this.next[slot] as number;
    if (before === NONE) this.head = after;
    else this.next[before] = after;
    if (after === NONE) this.tail = before;
    else this.previous[after] = before;
  }
}
