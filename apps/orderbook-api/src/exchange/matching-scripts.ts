import { defineFencedScript } from '@redkit/lock';
import { defineScript } from '@redkit/redis';

// The matching engine's state, per symbol, all keys under one hash tag {<symbol>}:
//   fence     STRING  the highest fencing token that has written (the check of @redkit/lock's
//                     defineFencedScript, run first in every writing script)
//   counters  HASH  order, trade (id counters), book (book sequence)
//   orders    HASH  order id -> order JSON (every field a string: ticks, lots, epoch ms)
//   bids      ZSET  resting buy orders: score -price ticks, member the 16-digit id, so ZRANGE 0 0 is
//                   the best price and, within a price (equal scores order by member), the oldest
//   asks      ZSET  resting sell orders: score price ticks, member as above
//   bid-levels, ask-levels  HASH  price ticks -> lots resting at that price (the aggregated book)
//   trades    LIST  trade JSON, newest first, trimmed
//   client-order:<id>  STRING  clientOrderId -> order id, with a TTL (idempotency of placements)
// Integers stay below 2^53, so Lua's doubles hold them exactly; string.format('%d') writes them.

/** Writes an integer without Lua's rounding of large numbers. */
const INT = `local function int(n) return string.format('%d', n) end
`;

/** Appends `price:lots` of every changed level of one side, `lots` 0 for a removed level. */
const LEVEL_HELPERS = `
local function level_add(levels_key, changed, price, delta)
  local total = redis.call('HINCRBY', levels_key, price, delta)
  if total <= 0 then redis.call('HDEL', levels_key, price); total = 0 end
  changed[price] = total
end
local function level_list(changed)
  local out = {}
  for price, total in pairs(changed) do out[#out + 1] = price .. ':' .. int(total) end
  return table.concat(out, ',')
end
`;

/**
 * Places a limit order and matches it, price-time priority, trades at the resting order's price.
 *
 * KEYS[1] fence, [2] counters, [3] orders, [4] bids, [5] asks, [6] bid-levels, [7] ask-levels,
 *   [8] trades, [9] client-order key (unused when ARGV[5] is empty)
 * ARGV[1] fencing token, [2] side buy|sell, [3] price ticks, [4] quantity lots, [5] clientOrderId or '',
 *   [6] now (ms), [7] trades kept, [8] clientOrderId TTL (s), [9] most fills per order
 * returns {'OK', order JSON, book sequence, changed bid levels, changed ask levels, trade JSON...}
 *   (levels as 'ticks:lots,...', lots 0 = removed; sequence '0' when the book did not change),
 *   or {'DUPLICATE', original order JSON}; a stale token rejects with FencedOutError
 */
export const placeOrderScript = defineFencedScript<string[], string[]>({
  name: 'exchange_place_order',
  numberOfKeys: 9,
  lua: `${INT}${LEVEL_HELPERS}
local client_order_id = ARGV[5]
if client_order_id ~= '' then
  local existing = redis.call('GET', KEYS[9])
  if existing then return {'DUPLICATE', redis.call('HGET', KEYS[3], existing)} end
end
local id = redis.call('HINCRBY', KEYS[2], 'order', 1)
local id_text = int(id)
if client_order_id ~= '' then redis.call('SET', KEYS[9], id_text, 'EX', ARGV[8]) end

local side = ARGV[2]
local price = tonumber(ARGV[3])
local quantity = tonumber(ARGV[4])
local now = ARGV[6]
local max_fills = tonumber(ARGV[9])
local own, own_levels, opposite, opposite_levels
if side == 'buy' then
  own, own_levels, opposite, opposite_levels = KEYS[4], KEYS[6], KEYS[5], KEYS[7]
else
  own, own_levels, opposite, opposite_levels = KEYS[5], KEYS[7], KEYS[4], KEYS[6]
end
local changed_own, changed_opposite = {}, {}
local remaining = quantity
local trades = {}
while remaining > 0 and #trades < max_fills do
  local best = redis.call('ZRANGE', opposite, 0, 0)
  if #best == 0 then break end
  local maker_id = int(tonumber(best[1]))
  local maker = cjson.decode(redis.call('HGET', KEYS[3], maker_id))
  local maker_price = tonumber(maker.price)
  if (side == 'buy' and maker_price > price) or (side == 'sell' and maker_price < price) then break end
  local maker_left = tonumber(maker.quantity) - tonumber(maker.filled)
  local fill = math.min(remaining, maker_left)
  remaining = remaining - fill
  maker.filled = int(tonumber(maker.filled) + fill)
  maker.updatedAt = now
  if fill == maker_left then
    maker.status = 'filled'
    redis.call('ZREM', opposite, best[1])
  else
    maker.status = 'partially_filled'
  end
  redis.call('HSET', KEYS[3], maker_id, cjson.encode(maker))
  level_add(opposite_levels, changed_opposite, maker.price, -fill)
  local trade_id = int(redis.call('HINCRBY', KEYS[2], 'trade', 1))
  local trade = cjson.encode({id = trade_id, price = maker.price, quantity = int(fill), takerSide = side,
    makerOrderId = maker_id, takerOrderId = id_text, time = now})
  redis.call('LPUSH', KEYS[8], trade)
  trades[#trades + 1] = trade
end
local filled = quantity - remaining
local status
if remaining == 0 then
  status = 'filled'
elseif #trades >= max_fills then
  -- Too many fills for one script run: the rest is cancelled rather than left crossing the book.
  status = 'cancelled'
else
  status = filled > 0 and 'partially_filled' or 'open'
  redis.call('ZADD', own, side == 'buy' and -price or price, string.format('%016d', id))
  level_add(own_levels, changed_own, ARGV[3], remaining)
end
if #trades > 0 then redis.call('LTRIM', KEYS[8], 0, tonumber(ARGV[7]) - 1) end
local order = cjson.encode({id = id_text, side = side, price = ARGV[3], quantity = ARGV[4], filled = int(filled),
  status = status, clientOrderId = client_order_id, createdAt = now, updatedAt = now})
redis.call('HSET', KEYS[3], id_text, order)
local sequence = '0'
if next(changed_own) ~= nil or next(changed_opposite) ~= nil then
  sequence = int(redis.call('HINCRBY', KEYS[2], 'book', 1))
end
local changed_bids, changed_asks
if side == 'buy' then changed_bids, changed_asks = changed_own, changed_opposite
else changed_bids, changed_asks = changed_opposite, changed_own end
local reply = {'OK', order, sequence, level_list(changed_bids), level_list(changed_asks)}
for index = 1, #trades do reply[#reply + 1] = trades[index] end
return reply
`,
});

/**
 * Cancels a resting order.
 *
 * KEYS[1] fence, [2] counters, [3] orders, [4] bids, [5] asks, [6] bid-levels, [7] ask-levels
 * ARGV[1] fencing token, [2] order id, [3] now (ms)
 * returns {'OK', order JSON, book sequence, changed bid levels, changed ask levels},
 *   {'NOT_OPEN', order JSON} (filled or cancelled already) or {'NOT_FOUND'}; a stale token rejects
 */
export const cancelOrderScript = defineFencedScript<string[], string[]>({
  name: 'exchange_cancel_order',
  numberOfKeys: 7,
  lua: `${INT}${LEVEL_HELPERS}
local text = redis.call('HGET', KEYS[3], ARGV[2])
if not text then return {'NOT_FOUND'} end
local order = cjson.decode(text)
if order.status ~= 'open' and order.status ~= 'partially_filled' then return {'NOT_OPEN', text} end
local left = tonumber(order.quantity) - tonumber(order.filled)
local changed = {}
if order.side == 'buy' then
  redis.call('ZREM', KEYS[4], string.format('%016d', tonumber(order.id)))
  level_add(KEYS[6], changed, order.price, -left)
else
  redis.call('ZREM', KEYS[5], string.format('%016d', tonumber(order.id)))
  level_add(KEYS[7], changed, order.price, -left)
end
order.status = 'cancelled'
order.updatedAt = ARGV[3]
text = cjson.encode(order)
redis.call('HSET', KEYS[3], ARGV[2], text)
local sequence = int(redis.call('HINCRBY', KEYS[2], 'book', 1))
local levels = level_list(changed)
if order.side == 'buy' then return {'OK', text, sequence, levels, ''} end
return {'OK', text, sequence, '', levels}
`,
});

/**
 * Replaces the book with imported levels: every resting order is cancelled and each level becomes
 * one resting order of its whole quantity.
 *
 * KEYS[1] fence, [2] counters, [3] orders, [4] bids, [5] asks, [6] bid-levels, [7] ask-levels
 * ARGV[1] fencing token, [2] now (ms), [3] number of bid levels n, then n bid 'ticks', 'lots' pairs,
 *   then the ask pairs
 * returns {'OK', book sequence, orders cancelled}; a stale token rejects with FencedOutError
 */
export const importBookScript = defineFencedScript<string[], string[]>({
  name: 'exchange_import_book',
  numberOfKeys: 7,
  lua: `${INT}
local now = ARGV[2]
local cancelled = 0
for _, book in ipairs({KEYS[4], KEYS[5]}) do
  for _, member in ipairs(redis.call('ZRANGE', book, 0, -1)) do
    local id = int(tonumber(member))
    local text = redis.call('HGET', KEYS[3], id)
    if text then
      local order = cjson.decode(text)
      order.status = 'cancelled'
      order.updatedAt = now
      redis.call('HSET', KEYS[3], id, cjson.encode(order))
      cancelled = cancelled + 1
    end
  end
end
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6], KEYS[7])
local bid_count = tonumber(ARGV[3])
local index = 4
local total = (#ARGV - 3) / 2
for level = 1, total do
  local price, lots = ARGV[index], ARGV[index + 1]
  index = index + 2
  local side = level <= bid_count and 'buy' or 'sell'
  local id = redis.call('HINCRBY', KEYS[2], 'order', 1)
  local id_text = int(id)
  redis.call('HSET', KEYS[3], id_text, cjson.encode({id = id_text, side = side, price = price, quantity = lots,
    filled = '0', status = 'open', clientOrderId = '', createdAt = now, updatedAt = now}))
  if side == 'buy' then
    redis.call('ZADD', KEYS[4], -tonumber(price), string.format('%016d', id))
    redis.call('HINCRBY', KEYS[6], price, lots)
  else
    redis.call('ZADD', KEYS[5], tonumber(price), string.format('%016d', id))
    redis.call('HINCRBY', KEYS[7], price, lots)
  end
end
local sequence = int(redis.call('HINCRBY', KEYS[2], 'book', 1))
return {'OK', sequence, int(cancelled)}
`,
});

/**
 * The aggregated book and its sequence in one consistent read, to resynchronise the order-book store.
 *
 * KEYS[1] counters, [2] bid-levels, [3] ask-levels
 * returns {book sequence, {ticks, lots, ...} of bids, {...} of asks}
 */
export const readLevelsScript = defineScript<[], [string, string[], string[]]>({
  name: 'exchange_read_levels',
  numberOfKeys: 3,
  lua: `
return {redis.call('HGET', KEYS[1], 'book') or '0', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
`,
});
