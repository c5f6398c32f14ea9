// The order book's Lua scripts. Every script takes the four keys of one book, which share the
// symbol's hash tag (one Cluster slot):
//   KEYS[1] bids  sorted set, score = price in ticks, member = "price:quantity" (normalised decimals)
//   KEYS[2] asks  the same
//   KEYS[3] meta  hash: seq, updatedAt (ms, server clock), bestBid, bestAsk ('' when a side is empty)
//   KEYS[4] top   string "<levels per side>|<seq>|<updatedAt>|<bid>,<bid>,...|<ask>,<ask>,..." of the
//                 top levels (best first, each "price:quantity"), rewritten by every write in the
//                 same script as the change: whenever it exists, it is exactly the book's top. A
//                 read up to that depth is one GET of it; deeper reads run readBookScript.
// One member per score: a write removes the level's member by score before adding the new one, so a
// level's price and its exact quantity are one string and a depth read is one ZRANGE per side.
import { defineScript } from '@redkit/redis';

/**
 * Shared helpers: the price part of a member, the server time in ms, and `finish`, which every
 * successful write ends with: metadata, the top-levels string, the idle TTL, and the reply.
 */
const COMMON = `
local function price_of(member)
  if not member then return '' end
  return string.sub(member, 1, string.find(member, ':', 1, true) - 1)
end
local function now_ms()
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end
local function finish(seq, ttl, top_depth)
  local now = now_ms()
  local last = math.max(top_depth, 1) - 1
  local bids = redis.call('ZRANGE', KEYS[1], 0, last, 'REV')
  local asks = redis.call('ZRANGE', KEYS[2], 0, last)
  redis.call('HSET', KEYS[3], 'seq', seq, 'updatedAt', now,
    'bestBid', price_of(bids[1]), 'bestAsk', price_of(asks[1]))
  if top_depth > 0 then
    redis.call('SET', KEYS[4], top_depth .. '|' .. seq .. '|' .. now .. '|' ..
      table.concat(bids, ',') .. '|' .. table.concat(asks, ','))
  else
    redis.call('DEL', KEYS[4])
  end
  if ttl > 0 then
    for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
  else
    redis.call('PERSIST', KEYS[3])
    redis.call('PERSIST', KEYS[4])
  end
  return {'OK', seq, redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}
end
`;

/** Result of a write script: `['OK', sequence, bidLevels, askLevels]` or a refusal. */
export type WriteReply =
  | [status: 'OK', sequence: string, bidLevels: number, askLevels: number]
  | [status: 'STALE' | 'GAP', current: string]
  | [status: 'CROSSED', bestBid: string, bestAsk: string]
  | [status: 'NOT_FOUND'];

export const saveSnapshotScript = defineScript<string[], WriteReply>({
  name: 'orderbook_save_snapshot',
  numberOfKeys: 4,
  lua: `-- KEYS[1] bids, KEYS[2] asks, KEYS[3] meta, KEYS[4] top (one hash tag)
-- ARGV[1] sequence, ARGV[2] idle TTL in ms (0: none), ARGV[3] levels per side kept in top (0: none),
-- ARGV[4] number of bid levels n, ARGV[5 .. 4+2n] bid (ticks, "price:quantity") pairs, the
-- remaining ARGV ask pairs
-- returns {'OK', sequence, bid levels, ask levels}, or {'STALE', current sequence} when the book is
-- already at this sequence or later (then nothing changed).
-- Replaces the whole book in one script, so no reader ever sees part of it.
${COMMON}
local current = redis.call('HGET', KEYS[3], 'seq')
if current and tonumber(ARGV[1]) <= tonumber(current) then return {'STALE', current} end
redis.call('UNLINK', KEYS[1], KEYS[2])
-- At most 500 levels per ZADD: unpack() of a whole 10,000-level side would overflow Lua's C stack.
local function add(key, first, last)
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    redis.call('ZADD', key, unpack(ARGV, i, j))
    i = j + 1
  end
end
local split = 4 + 2 * tonumber(ARGV[4])
add(KEYS[1], 5, split)
add(KEYS[2], split + 1, #ARGV)
return finish(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
`,
});

export const applyDeltaScript = defineScript<string[], WriteReply>({
  name: 'orderbook_apply_delta',
  numberOfKeys: 4,
  lua: `-- KEYS[1] bids, KEYS[2] asks, KEYS[3] meta, KEYS[4] top (one hash tag)
-- ARGV[1] sequence, ARGV[2] mode ('next': must be current + 1, 'greater': above current),
-- ARGV[3] '1' to allow a crossed book, ARGV[4] idle TTL in ms (0: none), ARGV[5] levels per side
-- kept in top (0: none), ARGV[6] bid level count n, ARGV[7 .. 6+2n] bid (ticks, member) pairs, the
-- remaining ARGV ask pairs; member "price:quantity" sets the level, '' removes it.
-- returns {'OK', sequence, bid levels, ask levels}, {'NOT_FOUND'}, {'STALE', current},
-- {'GAP', current} or {'CROSSED', best bid, best ask}; on anything but OK nothing changed.
${COMMON}
local current = redis.call('HGET', KEYS[3], 'seq')
if not current then return {'NOT_FOUND'} end
local seq, cur = tonumber(ARGV[1]), tonumber(current)
if seq <= cur then return {'STALE', current} end
if ARGV[2] == 'next' and seq ~= cur + 1 then return {'GAP', current} end
local guard = ARGV[3] ~= '1'
-- With the crossing guard on, remember each level's previous member to put it back on refusal.
local undo = {}
local function apply(key, first, last)
  for i = first, last, 2 do
    local ticks, member = ARGV[i], ARGV[i + 1]
    local old = redis.call('ZRANGE', key, ticks, ticks, 'BYSCORE')[1]
    if (old or '') ~= member then
      if guard then undo[#undo + 1] = {key, ticks, old or false} end
      if old then redis.call('ZREM', key, old) end
      if member ~= '' then redis.call('ZADD', key, ticks, member) end
    end
  end
end
local split = 6 + 2 * tonumber(ARGV[6])
apply(KEYS[1], 7, split)
apply(KEYS[2], split + 1, #ARGV)
if guard then
  local bid = redis.call('ZRANGE', KEYS[1], 0, 0, 'REV', 'WITHSCORES')
  local ask = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if bid[1] and ask[1] and tonumber(bid[2]) >= tonumber(ask[2]) then
    for i = #undo, 1, -1 do
      local entry = undo[i]
      redis.call('ZREMRANGEBYSCORE', entry[1], entry[2], entry[2])
      if entry[3] then redis.call('ZADD', entry[1], entry[2], entry[3]) end
    end
    return {'CROSSED', price_of(bid[1]), price_of(ask[1])}
  end
end
return finish(ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5]))
`,
});

export const readBookScript = defineScript<[depth: number], string | null>({
  name: 'orderbook_read',
  numberOfKeys: 3,
  lua: `-- KEYS[1] bids, KEYS[2] asks, KEYS[3] meta (one hash tag)
-- ARGV[1] depth: levels per side
-- returns nil when there is no book, else one string in the format of the top string
--   "<depth>|<seq>|<updatedAt>|<bid>,<bid>,...|<ask>,<ask>,..."
-- with the best levels first, each "price:quantity". One string rather than nested arrays: the
-- client parses one bulk reply instead of 2 x depth, which is most of a depth read's client cost.
local meta = redis.call('HMGET', KEYS[3], 'seq', 'updatedAt')
if not meta[1] then return false end
local last = tonumber(ARGV[1]) - 1
return ARGV[1] .. '|' .. meta[1] .. '|' .. meta[2] .. '|' ..
  table.concat(redis.call('ZRANGE', KEYS[1], 0, last, 'REV'), ',') .. '|' ..
  table.concat(redis.call('ZRANGE', KEYS[2], 0, last), ',')
`,
});
