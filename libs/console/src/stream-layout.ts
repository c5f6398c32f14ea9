import type { LanePriority } from './console-api.types.js';

/**
 * How @redkit/messaging lays out what the console reads, as its README's wire format fixes it: the
 * four priority lanes of a stream, and the names of a partitioned stream's partitions. Restated here
 * rather than imported, so that the console never needs the messaging lib at run time.
 */

/** The lanes, highest first: a lane's index here is its index in every list of lanes. */
export const STREAM_LANES: readonly LanePriority[] = Object.freeze(['critical', 'high', 'normal', 'low']);

/** The lane of entries published without a priority, whose key is the stream's original one. */
export const NORMAL_LANE = STREAM_LANES.indexOf('normal');

/** True for one of {@link STREAM_LANES}. */
export function isLanePriority(value: unknown): value is LanePriority {
  return value === 'critical' || value === 'high' || value === 'normal' || value === 'low';
}

/** The most partitions a partitioned stream may have (messaging's MAX_PARTITIONS). */
const MAX_PARTITIONS = 1_024;

/**
 * The partitioned stream and index of a stream named `<name>#<index>` (a whole number below 1024,
 * without leading zeros), as `partitionStreamName` names partitions; null for any other name. A
 * stream of your own named so is taken for a partition too: nothing in Redis tells them apart.
 */
export function partitionOfName(stream: string): { of: string; index: number } | null {
  const hash = stream.lastIndexOf('#');
  if (hash <= 0) return null;
  const digits = stream.slice(hash + 1);
  if (!/^(0|[1-9]\d{0,3})$/.test(digits)) return null;
  const index = Number(digits);
  return index < MAX_PARTITIONS ? { of: stream.slice(0, hash), index } : null;
}
