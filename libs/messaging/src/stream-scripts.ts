import { defineScript } from '@redkit/redis';

/** What {@link SETTLE_FAILURE} decided about a failed entry. */
export type FailureVerdict = 'retry' | 'dead' | 'lost' | 'deleted';

/**
 * Settles an entry whose handler failed, atomically, from the delivery count Redis keeps (XPENDING):
 * under `maxDeliveries` it stays pending for a retry; at the limit it is copied to the dead-letter
 * stream with the error and the count, then acknowledged, in one step, so it is never both lost and
 * acked nor dead-lettered twice. The stream and its dead-letter stream share a hash tag.
 */
export const SETTLE_FAILURE = defineScript<
  [
    group: string,
    consumer: string,
    id: string,
    maxDeliveries: number,
    error: string,
    deadLetterMaxLen: number,
    failedAt: number,
  ],
  [FailureVerdict, number]
>({
  name: 'messaging_settle_failure',
  numberOfKeys: 2,
  lua: `-- KEYS[1] the stream, KEYS[2] its dead-letter stream (both under the tag {<stream>})
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] maxDeliveries, ARGV[5] error text,
-- ARGV[6] dead-letter MAXLEN ~, ARGV[7] failed-at (ms since the epoch)
-- returns { verdict, deliveries }:
--   'retry'   still pending to ARGV[2] and delivered fewer than ARGV[4] times: deliver it again;
--   'dead'    delivered ARGV[4] times or more: added to the dead-letter stream (original fields plus
--             originalId, group, consumer, error, deliveries, failedAt) and acknowledged;
--   'lost'    no longer pending to ARGV[2] (another consumer claimed it, or it was acked): nothing done;
--   'deleted' trimmed or deleted from the stream while pending: acknowledged away.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)[1]
if not pending then return { 'lost', 0 } end
local deliveries = pending[4]
if pending[2] ~= ARGV[2] then return { 'lost', deliveries } end
local found = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])[1]
if not found then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  return { 'deleted', deliveries }
end
if deliveries < tonumber(ARGV[4]) then return { 'retry', deliveries } end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*',
  'originalId', ARGV[3], 'group', ARGV[1], 'consumer', ARGV[2], 'error', ARGV[5],
  'deliveries', deliveries, 'failedAt', ARGV[7], unpack(found[2]))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return { 'dead', deliveries }
`,
});
