import type { LimitedIdentity } from './console-api.types.js';

/** Length of one counting slot, and how many make the window: five one-minute slots. */
const SLOT_MS = 60_000;
const SLOTS = 5;
/** Longest identity kept (a long API key is cut, never stored whole). */
const MAX_IDENTITY_CHARACTERS = 200;

interface Tally {
  identity: string;
  limit: string;
  /** Refusals per minute slot, indexed by minute % SLOTS; `minutes` says which minute each holds. */
  counts: number[];
  minutes: number[];
  lastAt: number;
}

/**
 * The identities rate limits refused most over the last five minutes, in a structure of bounded
 * size (never per-identity metric labels): at most `capacity` identity-and-limit pairs, each with
 * five per-minute counts. When full, a new pair replaces the one with the fewest refusals in the
 * window (ties: the least recent), so a flood of one-off identities cannot push out a persistent
 * offender.
 */
export class TopLimitedIdentities {
  private readonly tallies = new Map<string, Tally>();

  constructor(private readonly capacity = 1_000) {}

  record(identity: string, limit: string, now = Date.now()): void {
    const cut =
      identity.length > MAX_IDENTITY_CHARACTERS ? identity.slice(0, MAX_IDENTITY_CHARACTERS) : identity;
    const key = `${limit}\u0000${cut}`;
    let tally = this.tallies.get(key);
    if (tally === undefined) {
      if (this.tallies.size >= this.capacity) this.evict(now);
      tally = {
        identity: cut,
        limit,
        counts: new Array(SLOTS).fill(0),
        minutes: new Array(SLOTS).fill(-1),
        lastAt: now,
      };
      this.tallies.set(key, tally);
    }
    const minute = Math.floor(now / SLOT_MS);
    const slot = minute % SLOTS;
    if (tally.minutes[slot] !== minute) {
      tally.minutes[slot] = minute;
      tally.counts[slot] = 0;
    }
    tally.counts[slot] = (tally.counts[slot] as number) + 1;
    tally.lastAt = now;
  }

  /** The `count` most refused pairs of the window, most refused first. */
  top(count = 20, now = Date.now()): LimitedIdentity[] {
    const listed: LimitedIdentity[] = [];
    for (const [key, tally] of this.tallies) {
      const refused = this.inWindow(tally, now);
      if (refused === 0) {
        this.tallies.delete(key);
        continue;
      }
      listed.push({ identity: tally.identity, limit: tally.limit, refused, lastAt: tally.lastAt });
    }
    return listed
      .sort((left, right) => right.refused - left.refused || right.lastAt - left.lastAt)
      .slice(0, count);
  }

  private inWindow(tally: Tally, now: number): number {
    const oldest = Math.floor(now / SLOT_MS) - SLOTS + 1;
    let sum = 0;
    for (let slot = 0; slot < SLOTS; slot += 1) {
      if ((tally.minutes[slot] as number) >= oldest) sum += tally.counts[slot] as number;
    }
    return sum;
  }

  private evict(now: number): void {
    let victim: string | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [key, tally] of this.tallies) {
      const refused = this.inWindow(tally, now);
      if (refused < fewest || (refused === fewest && tally.lastAt < oldest)) {
        victim = key;
        fewest = refused;
        oldest = tally.lastAt;
      }
    }
    if (victim !== undefined) this.tallies.delete(victim);
  }
}
