import { LaneScheduler } from './lane-scheduler.js';
import { MESSAGE_PRIORITIES } from './stream-message.js';

/** An entry a consumer holds, waiting for a handler slot. */
export interface WaitingEntry {
  readonly id: string;
  /** `performance.now()` when it was read, or last had its idle time reset in Redis. */
  since: number;
}

/**
 * The entries a consumer has read (or claimed) from each priority lane and not started yet, and the
 * ids it holds per lane (waiting or running), so that an entry claimed or read twice is not run
 * twice at once. {@link next} takes the entry to start next, by the {@link LaneScheduler}.
 * Lanes are indexed as {@link MESSAGE_PRIORITIES}; ids are per lane (two lanes may share one).
 */
export class LaneQueues<E extends WaitingEntry> {
  private readonly waiting: E[][] = MESSAGE_PRIORITIES.map(() => []);
  private readonly held: Set<string>[] = MESSAGE_PRIORITIES.map(() => new Set());
  /** Bit `i` set while lane `i` has an entry waiting. */
  private ready = 0;
  private count = 0;

  constructor(private readonly scheduler: LaneScheduler) {}

  /** Entries waiting, over every lane. */
  get size(): number {
    return this.count;
  }

  /** Entries waiting in one lane. */
  length(lane: number): number {
    return (this.waiting[lane] as E[]).length;
  }

  /** True while the entry is waiting or running. */
  holds(lane: number, id: string): boolean {
    return (this.held[lane] as Set<string>).has(id);
  }

  /** Queues an entry (held until {@link release}). */
  push(lane: number, entry: E): void {
    (this.waiting[lane] as E[]).push(entry);
    (this.held[lane] as Set<string>).add(entry.id);
    this.count += 1;
    this.ready |= 1 << lane;
  }

  /** The next entry to start and its lane, or undefined when none waits; it stays held. */
  next(): { lane: number; entry: E } | undefined {
    const lane = this.scheduler.next(this.ready);
    if (lane < 0) return undefined;
    const queue = this.waiting[lane] as E[];
    const entry = queue.shift() as E;
    this.count -= 1;
    if (queue.length === 0) this.ready &= ~(1 << lane);
    return { lane, entry };
  }

  /** Forgets a started entry once it is settled. */
  release(lane: number, id: string): void {
    (this.held[lane] as Set<string>).delete(id);
  }

  /** The waiting entries of a lane that have waited since before `before`. */
  waitingSince(lane: number, before: number): E[] {
    return (this.waiting[lane] as E[]).filter((entry) => entry.since <= before);
  }

  /** Drops waiting entries of a lane (no longer this consumer's to run); they are released too. */
  drop(lane: number, entries: ReadonlySet<E>): void {
    const queue = this.waiting[lane] as E[];
    const kept = queue.filter((entry) => !entries.has(entry));
    const dropped = queue.length - kept.length;
    if (dropped === 0) return;
    for (const entry of entries) if (queue.includes(entry)) this.release(lane, entry.id);
    this.waiting[lane] = kept;
    this.count -= dropped;
    if (kept.length === 0) this.ready &= ~(1 << lane);
  }
}
