import { MessagingOptionsError } from './messaging.errors.js';
import { MESSAGE_PRIORITIES, type MessagePriority } from './stream-message.js';

/**
 * Handler starts each lane gets per scheduling cycle while it has entries waiting: whole numbers from
 * 1 to {@link MAX_PRIORITY_WEIGHT}, never more for a lane than for the lane above it.
 */
export type PriorityWeights = Readonly<Record<MessagePriority, number>>;

/**
 * critical 8, high 4, normal 2, low 1: a cycle of 15 starts. While a lane has entries waiting, every
 * 15 consecutive handler starts of a consumer include at least its weight of them (so at least 1 of
 * 15 for `low` under a `critical` flood).
 */
export const DEFAULT_PRIORITY_WEIGHTS: PriorityWeights = Object.freeze({
  critical: 8,
  high: 4,
  normal: 2,
  low: 1,
});

/** Bounds the cycle (at most 400 slots), and with it the starvation bound. */
export const MAX_PRIORITY_WEIGHT = 100;

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Validates `priorityWeights` (partial: missing lanes keep {@link DEFAULT_PRIORITY_WEIGHTS}); throws
 * {@link MessagingOptionsError} naming the option, `<path>priorityWeights.<lane>` for one weight.
 */
export function resolvePriorityWeights(value: unknown, path = ''): PriorityWeights {
  const option = `${path}priorityWeights`;
  if (value === undefined) return DEFAULT_PRIORITY_WEIGHTS;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MessagingOptionsError(option, `must be an object of weights by priority, got ${show(value)}`);
  }
  const given = value as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!(MESSAGE_PRIORITIES as readonly string[]).includes(name)) {
      throw new MessagingOptionsError(
        `${option}.${name}`,
        `is not a priority (${MESSAGE_PRIORITIES.join(', ')})`,
      );
    }
  }
  const weights = { ...DEFAULT_PRIORITY_WEIGHTS };
  let above: number | undefined;
  for (const priority of MESSAGE_PRIORITIES) {
    const weight = given[priority] ?? DEFAULT_PRIORITY_WEIGHTS[priority];
    if (
      typeof weight !== 'number' ||
      !Number.isInteger(weight) ||
      weight < 1 ||
      weight > MAX_PRIORITY_WEIGHT
    ) {
      throw new MessagingOptionsError(
        `${option}.${priority}`,
        `must be a whole number from 1 to ${MAX_PRIORITY_WEIGHT}, got ${show(weight)}`,
      );
    }
    if (above !== undefined && weight > above) {
      throw new MessagingOptionsError(
        `${option}.${priority}`,
        `must not exceed the weight of the lane above it (${above}), got ${weight}`,
      );
    }
    weights[priority] = above = weight;
  }
  return Object.freeze(weights);
}

/**
 * Chooses the lane of each handler start, by weighted round-robin over a fixed cycle of slots: lane
 * `i` owns `weights[i]` slots, spread evenly (smooth weighted round-robin), and each start takes the
 * first slot from where the last one stopped whose lane has an entry waiting, skipping the others.
 *
 * The bound, with N = the sum of the weights (15 by default): while a lane has an entry waiting at
 * every start, any N consecutive starts include at least its weight of starts of that lane. Proof:
 * the slots those starts took (plus the ones they skipped) are consecutive and at least as many as
 * the starts; a start never skips a slot of a lane with an entry waiting; N consecutive slots hold
 * every slot of a cycle. (A start made while only one lane has entries takes that lane without
 * moving through the cycle; each such start is one of that lane's, so the bound still holds.)
 */
export class LaneScheduler {
  /** One cycle: each slot the index (in {@link MESSAGE_PRIORITIES}) of the lane that owns it. */
  readonly cycle: readonly number[];
  private position = 0;

  constructor(weights: PriorityWeights = DEFAULT_PRIORITY_WEIGHTS) {
    const shares = MESSAGE_PRIORITIES.map((priority) => weights[priority]);
    const total = shares.reduce((sum, share) => sum + share, 0);
    const current = shares.map(() => 0);
    const cycle: number[] = [];
    for (let slot = 0; slot < total; slot++) {
      let chosen = 0;
      for (let lane = 0; lane < shares.length; lane++) {
        current[lane] = (current[lane] as number) + (shares[lane] as number);
        // Strictly greater: a tie goes to the higher lane.
        if ((current[lane] as number) > (current[chosen] as number)) chosen = lane;
      }
      current[chosen] = (current[chosen] as number) - total;
      cycle.push(chosen);
    }
    this.cycle = Object.freeze(cycle);
  }

  /** N of the bound: handler starts per cycle. */
  get cycleLength(): number {
    return this.cycle.length;
  }

  /**
   * The lane to start next, given `ready` (bit `i` set when lane `i` has an entry waiting), or -1
   * when none has.
   */
  next(ready: number): number {
    if (ready === 0) return -1;
    // One lane waiting (the common case: one lane in use): no cycle to walk.
    if ((ready & (ready - 1)) === 0) return 31 - Math.clz32(ready);
    const { cycle } = this;
    for (let step = 0; step < cycle.length; step++) {
      const lane = cycle[this.position] as number;
      this.position = this.position + 1 === cycle.length ? 0 : this.position + 1;
      if ((ready & (1 << lane)) !== 0) return lane;
    }
    return -1;
  }
}
