import type { L1InvalidationTarget } from './l1-invalidation.interface.js';

/** What a transport asked an L1 to drop, in order. */
export type Drop = { keys: string[] } | { prefix: string } | { all: true };

/**
 * An L1 that only records what it is told, for the transport specs: the transport is the thing
 * under test and Redis is real. Not part of the build (see scripts/build.mjs).
 */
export class RecordingTarget implements L1InvalidationTarget {
  readonly drops: Drop[] = [];

  dropKeys(keys: readonly string[]): void {
    this.drops.push({ keys: [...keys] });
  }

  dropPrefix(prefix: string): void {
    this.drops.push({ prefix });
  }

  dropAll(): void {
    this.drops.push({ all: true });
  }

  /** Every key dropped one by one, whichever messages carried them. */
  get keys(): string[] {
    return this.drops.flatMap((drop) => ('keys' in drop ? drop.keys : []));
  }

  get allDrops(): number {
    return this.drops.filter((drop) => 'all' in drop).length;
  }
}
