import type { DeferredCounterChild } from '@redkit/metrics';
import type { RedisClient } from '@redkit/redis';

import type { L2ReadBatcher } from './l2-read.batcher.js';
import type { RecentWrites } from './recent-writes.js';

/**
 * Where a read that could have gone to a replica went: `replica` (answered there), `after_write`
 * (the key changed less than `readYourWritesMs` ago: the primary), `unavailable` (the replica
 * client was not ready, or failed less than a second ago: the primary), `failed` (the replica read
 * failed or timed out and was sent again to the primary), `rechecked` (the replica had no fresh
 * entry, so before running the loader the primary was asked too).
 */
export type ReplicaReadOutcome = 'replica' | 'after_write' | 'unavailable' | 'failed' | 'rechecked';

/** What reading from replicas needs: the replica's client and batcher, the window, the counters. */
export interface ReplicaReads {
  client: RedisClient;
  batcher: L2ReadBatcher;
  recent: RecentWrites;
  counters: Readonly<Record<ReplicaReadOutcome, DeferredCounterChild>>;
}

/**
 * After a replica read failed, reads skip the replica for this long: a frozen replica costs one
 * command timeout per second, not one per read.
 */
const REPLICA_RETRY_MS = 1_000;

/**
 * Sends the cache's plain L2 reads to the primary or, with `l2Reads: 'replica'`, to a replica: unless
 * the key changed in the read-your-writes window, or the replica client is not ready. A replica read
 * that fails is sent again to the primary (never straight to the loader). Reads that write (the
 * distributed single-flight lease) always go to the primary.
 */
export class L2ReadRouter {
  private replicaRetryAt = 0;

  constructor(
    private readonly primary: L2ReadBatcher,
    private readonly replica?: ReplicaReads,
  ) {}

  /** The text stored under `key`, or null: from a replica when it may, else from the primary. */
  read(key: string): Promise<string | null> {
    return this.readDecoded(key, identity, always);
  }

  /**
   * Reads `key` as {@link read} does and decodes it; a replica's answer that `servable` refuses (a
   * miss or an entry no longer fresh may only be the replica's lag) is read again from the primary,
   * so that the caller does not run its loader on it.
   */
  async readDecoded<T>(
    key: string,
    decode: (text: string | null) => T,
    servable: (decoded: T) => boolean,
  ): Promise<T> {
    const { replica } = this;
    if (replica === undefined || !this.routesToReplica(key, replica))
      return decode(await this.primary.read(key));
    let text: string | null;
    try {
      text = await replica.batcher.read(key);
    } catch {
      // Why it failed is the replica connection's to log (it is watched like the main one).
      replica.counters.failed.inc();
      this.replicaRetryAt = Date.now() + REPLICA_RETRY_MS;
      return decode(await this.primary.read(key));
    }
    replica.counters.replica.inc();
    const decoded = decode(text);
    if (servable(decoded)) return decoded;
    replica.counters.rechecked.inc();
    return decode(await this.primary.read(key));
  }

  /** `SET NX GET` (a write): always the primary. */
  readOrLease(key: string, leaseMs: number): Promise<string | null> {
    return this.primary.readOrLease(key, leaseMs);
  }

  /** `key` was written or dropped here or elsewhere: read it from the primary for the window. */
  noteKey(key: string): void {
    this.replica?.recent.noteKey(key);
  }

  noteKeys(keys: readonly string[]): void {
    this.replica?.recent.noteKeys(keys);
  }

  notePrefix(prefix: string): void {
    this.replica?.recent.notePrefix(prefix);
  }

  noteEverything(): void {
    this.replica?.recent.noteEverything();
  }

  private routesToReplica(key: string, replica: ReplicaReads): boolean {
    const refusal = this.routable(key, replica);
    if (refusal === undefined) return true;
    replica.counters[refusal].inc();
    return false;
  }

  private routable(key: string, replica: ReplicaReads): 'after_write' | 'unavailable' | undefined {
    const now = Date.now();
    if (replica.client.status !== 'ready' || now < this.replicaRetryAt) return 'unavailable';
    if (replica.recent.covers(key, now)) return 'after_write';
    return undefined;
  }
}

function identity(text: string | null): string | null {
  return text;
}

function always(): boolean {
  return true;
}
