import type { RedisClient } from '@redkit/redis';

/** XAUTOCLAIM ... JUSTID reply: next cursor, claimed ids, ids deleted meanwhile. */
type ClaimedIds = [cursor: string, ids: string[], deleted?: string[]];

/** XPENDING summary: count, smallest and greatest id, and the count per consumer (null when none). */
type PendingSummary = [count: number, min: string | null, max: string | null, [string, string][] | null];

/** Most XAUTOCLAIM rounds per lane of one handover; each moves up to 1000 entries. */
const MAX_TRANSFER_ROUNDS = 1_000;

/**
 * Moves every entry pending in `group` on a partition's lanes, whichever consumer holds it, to
 * `consumer` (XAUTOCLAIM from 0 with JUSTID: no delivery is counted, and the entries are not read):
 * what the partition's previous holder left, for its new holder to handle first.
 */
export async function takePendingEntries(
  client: RedisClient,
  laneKeys: readonly string[],
  group: string,
  consumer: string,
): Promise<void> {
  await Promise.all(laneKeys.map((key) => takePendingOfLane(client, key, group, consumer)));
}

async function takePendingOfLane(
  client: RedisClient,
  key: string,
  group: string,
  consumer: string,
): Promise<void> {
  let cursor = '0-0';
  for (let round = 0; round < MAX_TRANSFER_ROUNDS; round += 1) {
    let reply: ClaimedIds;
    try {
      reply = (await client.call(
        'XAUTOCLAIM',
        key,
        group,
        consumer,
        0,
        cursor,
        'COUNT',
        1_000,
        'JUSTID',
      )) as ClaimedIds;
    } catch (error) {
      // No group yet: nothing was ever delivered, so nothing is pending.
      if (error instanceof Error && error.message.startsWith('NOGROUP')) return;
      throw error;
    }
    cursor = reply[0];
    if (cursor === '0-0') return;
  }
}

/** True when a consumer of `group` other than `consumer` holds pending entries on a partition's lanes. */
export async function othersHoldPending(
  client: RedisClient,
  laneKeys: readonly string[],
  group: string,
  consumer: string,
): Promise<boolean> {
  const summaries = (await Promise.all(
    laneKeys.map((key) => client.xpending(key, group)),
  )) as PendingSummary[];
  return summaries.some(([, , , consumers]) =>
    (consumers ?? []).some(([name, count]) => name !== consumer && Number(count) > 0),
  );
}
