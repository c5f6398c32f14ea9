import { defineScript } from '@redkit/redis';

import type { MessagePriority } from './stream-message.js';

/** What {@link SETTLE_FAILURE} decided about a failed entry. */
export type FailureVerdict = 'retry' | 'dead' | 'lost' | 'deleted';

/**
 * Settles an entry whose handler failed, atomically, from the delivery count Redis keeps (XPENDING):
 * under `maxDeliveries` it stays pending for a retry; at the limit it is copied to the dead-letter
 * stream with the error, the count and its priority lane, then acknowledged, in one step, so it is
 * never both lost and acked nor dead-lettered twice. Every lane of a stream and its dead-letter stream
 * share a hash tag.
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
    priority: MessagePriority,
  ],
  [FailureVerdict, number]
>({
  name: 'messaging_settle_failure',
  numberOfKeys: 2,
  lua: `-- KEYS[1] the lane the entry is pending on, KEYS[2] the dead-letter stream (both under the tag {<stream>})
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] maxDeliveries, ARGV[5] error text,
-- ARGV[6] dead-letter MAXLEN ~, ARGV[7] failed-at (ms since the epoch), ARGV[8] the lane's priority
-- returns { verdict, deliveries }:
--   'retry'   still pending to ARGV[2] and delivered fewer than ARGV[4] times: deliver it again;
--   'dead'    delivered ARGV[4] times or more: added to the dead-letter stream (originalId, group,
--             consumer, error, deliveries, failedAt first, then the original fields but 'priority',
--             then priority = ARGV[8]) and acknowledged;
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
local fields = { 'MAXLEN', '~', ARGV[6], '*',
  'originalId', ARGV[3], 'group', ARGV[1], 'consumer', ARGV[2], 'error', ARGV[5],
  'deliveries', deliveries, 'failedAt', ARGV[7] }
local original = found[2]
for index = 1, #original, 2 do
  -- the lane, not a field, says what the entry's priority was
  if original[index] ~= 'priority' then
    fields[#fields + 1] = original[index]
    fields[#fields + 1] = original[index + 1]
  end
end
fields[#fields + 1] = 'priority'
fields[#fields + 1] = ARGV[8]
redis.call('XADD', KEYS[2], unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return { 'dead', deliveries }
`,
});

/**
 * Removes the consumers of stopped processes from a group, on every lane of a stream. Atomic, so a
 * consumer that reads between the check and the removal cannot lose the entries it just got
 * (DELCONSUMER drops its pending list).
 */
export const DELETE_IDLE_CONSUMERS = defineScript<[group: string, self: string, idleMs: number], number>({
  name: 'messaging_delete_idle_consumers',
  numberOfKeys: 'variable',
  lua: `-- KEYS[1..n] the lanes of one stream (all under the tag {<stream>})
-- ARGV[1] group, ARGV[2] the calling consumer (never removed), ARGV[3] idle threshold (ms)
-- returns how many (lane, consumer) pairs were removed: consumers with nothing pending on that lane,
-- idle there longer than ARGV[3]; a lane without the group (or the key) is skipped
local removed = 0
for _, key in ipairs(KEYS) do
  local consumers = redis.pcall('XINFO', 'CONSUMERS', key, ARGV[1])
  if consumers.err == nil then
    for _, flat in ipairs(consumers) do
      local info = {}
      for index = 1, #flat, 2 do info[flat[index]] = flat[index + 1] end
      if info['name'] ~= ARGV[2] and info['pending'] == 0 and info['idle'] > tonumber(ARGV[3]) then
        redis.call('XGROUP', 'DELCONSUMER', key, ARGV[1], info['name'])
        removed = removed + 1
      end
    end
  end
end
return removed
`,
});
