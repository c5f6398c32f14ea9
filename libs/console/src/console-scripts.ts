import { defineScript } from '@redkit/redis';

/** Dead letters replayed per script call: bounds the time one call holds the server. */
export const REPLAY_BATCH = 100;

/**
 * Moves dead letters back to their stream, atomically per entry: the original fields (those after
 * the dead-letter metadata SETTLE_FAILURE of @redkit/messaging writes first: originalId, group,
 * consumer, error, deliveries, failedAt) are appended as a new entry to the lane the dead letter's
 * `priority` names (the one it failed on; `normal` when absent, as before there were lanes), since
 * consumers read the lane, not the field; then the dead letter is deleted, in one step, so an entry
 * is never both replayed and still parked, nor lost. The lanes and the dead-letter stream share the
 * hash tag `{<stream>}`, so this runs on a Cluster.
 */
export const REPLAY_DEAD_LETTERS = defineScript<
  string[],
  Array<[id: string, newId: string, reason: string, priority: string]>
>({
  name: 'console_replay_dead_letters',
  numberOfKeys: 5,
  lua: `-- KEYS[1..4] the stream's lanes, highest first: critical, high, normal (the stream's original key),
-- low; KEYS[5] its dead-letter stream (all under the tag {<stream>})
-- ARGV[1..n] dead-letter entry ids (at most ${REPLAY_BATCH})
-- returns one { id, newId, reason, priority } per id: newId is the replayed entry's id on the lane
-- priority names ('' when not replayed), reason says why not ('not found': no such dead letter;
-- 'no fields': nothing to replay; 'too many fields')
local metadata = { originalId = true, group = true, consumer = true, error = true, deliveries = true, failedAt = true }
local lanes = { critical = 1, high = 2, normal = 3, low = 4 }
local results = {}
for index = 1, #ARGV do
  local id = ARGV[index]
  local found = redis.call('XRANGE', KEYS[5], id, id, 'COUNT', 1)[1]
  if not found then
    results[index] = { id, '', 'not found', 'normal' }
  else
    local flat = found[2]
    local fields = {}
    local priority = 'normal'
    for at = 1, #flat, 2 do
      local name, value = flat[at], flat[at + 1]
      if name == 'priority' and lanes[value] then
        -- the lane it failed on, written after the original fields: it decides where it goes back
        priority = value
      elseif not (at <= 12 and metadata[name]) then
        -- the metadata comes first; a field of the original entry with the same name stays
        fields[#fields + 1] = name
        fields[#fields + 1] = value
      end
    end
    if #fields == 0 then
      results[index] = { id, '', 'no fields', priority }
    elseif #fields > 7000 then
      results[index] = { id, '', 'too many fields', priority }
    else
      -- as the producer writes them: entries of every lane but normal carry their priority
      if priority ~= 'normal' then
        fields[#fields + 1] = 'priority'
        fields[#fields + 1] = priority
      end
      local newId = redis.call('XADD', KEYS[lanes[priority]], '*', unpack(fields))
      redis.call('XDEL', KEYS[5], id)
      results[index] = { id, newId, '', priority }
    end
  end
end
return results
`,
});
