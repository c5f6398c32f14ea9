import { defineScript } from '@redkit/redis';

/** Dead letters replayed per script call: bounds the time one call holds the server. */
export const REPLAY_BATCH = 100;

/**
 * Moves dead letters back to their stream, atomically per entry: the original fields (those after
 * the dead-letter metadata SETTLE_FAILURE of @redkit/messaging writes first: originalId, group,
 * consumer, error, deliveries, failedAt) are appended to the stream as a new entry, then the dead
 * letter is deleted, in one step, so an entry is never both replayed and still parked, nor lost.
 * The stream and its dead-letter stream share the hash tag `{<stream>}`, so this runs on a Cluster.
 */
export const REPLAY_DEAD_LETTERS = defineScript<string[], Array<[id: string, newId: string, reason: string]>>(
  {
    name: 'console_replay_dead_letters',
    numberOfKeys: 2,
    lua: `-- KEYS[1] the stream, KEYS[2] its dead-letter stream (both under the tag {<stream>})
-- ARGV[1..n] dead-letter entry ids (at most ${REPLAY_BATCH})
-- returns one { id, newId, reason } per id: newId is the replayed entry's id in the stream ('' when
-- not replayed), reason says why not ('not found': no such dead letter; 'no fields': nothing to
-- replay; 'too many fields')
local metadata = { originalId = true, group = true, consumer = true, error = true, deliveries = true, failedAt = true }
local results = {}
for index = 1, #ARGV do
  local id = ARGV[index]
  local found = redis.call('XRANGE', KEYS[2], id, id, 'COUNT', 1)[1]
  if not found then
    results[index] = { id, '', 'not found' }
  else
    local flat = found[2]
    local fields = {}
    for at = 1, #flat, 2 do
      -- the metadata comes first; a field of the original entry with the same name stays
      if not (at <= 12 and metadata[flat[at]]) then
        fields[#fields + 1] = flat[at]
        fields[#fields + 1] = flat[at + 1]
      end
    end
    if #fields == 0 then
      results[index] = { id, '', 'no fields' }
    elseif #fields > 7000 then
      results[index] = { id, '', 'too many fields' }
    else
      local newId = redis.call('XADD', KEYS[1], '*', unpack(fields))
      redis.call('XDEL', KEYS[2], id)
      results[index] = { id, newId, '' }
    end
  end
end
return results
`,
  },
);
