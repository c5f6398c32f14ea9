import { defineScript, type RedisScript, type ScriptArgument } from '@redkit/redis';

/** Algorithm codes as the script reads them from ARGV. */
export const LOG_CODE = '1';
export const COUNTER_CODE = '2';

/** ARGV slots per limit: algorithm, limit, windowMs, cost. */
export const ARGS_PER_LIMIT = 4;
/** Reply slots before the per-limit triples: allowed, server time in µs. */
export const REPLY_HEADER = 2;
/** Reply slots per limit: remaining, resetMs, retryAfterMs. */
export const REPLY_PER_LIMIT = 3;

/**
 * Checks every limit of one request and, only when all of them allow it, charges all of them: one
 * decision, one round trip. Time comes from the server (`TIME`), never from a client. Scores and
 * arithmetic are in integer microseconds, handed to `redis.call` as Lua numbers, which Redis
 * formats exactly (Lua's own `tostring` would round a 16-digit timestamp, so it is never used on one).
 *
 * sliding-log: a sorted set of admissions, score = admission time (µs), member = "<µs>-<n>". An
 * admission of cost c adds c members, so the set never holds more than `limit` members whatever the
 * costs, and the count in any window of `windowMs` is exact. Members are unique because scripts run
 * one at a time on a server and each takes more than a microsecond.
 *
 * sliding-counter: a hash { w = fixed window index, c = its count, p = the previous window's count };
 * the estimate is p × (1 − elapsed fraction of the current window) + c.
 */
const CHECK_LUA = `-- KEYS[i]   state of limit i (sorted set: sliding-log; hash: sliding-counter), one hash tag for all
-- ARGV[1]   1 = consume (charge every limit when all allow), 0 = peek (charge nothing)
-- ARGV[2+4(i-1) .. 5+4(i-1)]   limit i: algorithm (1 log, 2 counter), limit, windowMs, cost
-- returns   { allowed 1|0, server time µs, then per limit: remaining, resetMs, retryAfterMs }
-- Numbers go to redis.call as Lua numbers, which Redis formats exactly; Lua's own tostring would
-- round a 16-digit microsecond timestamp, so it is never used on one.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
-- Per limit, 7 slots: ok, count (log) or current, previous, estimate, stored window index, fixed
-- window index (counter), retry µs.
local st = {}
local allowed = true
for i = 1, n do
  local a, o = (i - 1) * 4, (i - 1) * 7
  local limit, window, cost = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]) * 1000, tonumber(ARGV[a + 5])
  local key = KEYS[i]
  local ok, retry = true, 0
  if ARGV[a + 2] == '1' then
    -- Counted without trimming: a refused request then costs no write at all. Scores are integer
    -- µs, so "after now - window" is "from now - window + 1".
    local count = redis.call('ZCOUNT', key, now - window + 1, '+inf')
    if count + cost > limit then
      -- The (count + cost - limit)-th oldest admission in the window must leave it first.
      local oldest = redis.call('ZRANGE', key, now - window + 1, '+inf', 'BYSCORE', 'LIMIT', count + cost - limit - 1, 1, 'WITHSCORES')
      ok, retry = false, tonumber(oldest[2]) + window - now
    end
    st[o + 2] = count
  else
    local h = redis.call('HMGET', key, 'w', 'c', 'p')
    local index = math.floor(now / window)
    local w = tonumber(h[1])
    local current, previous = 0, 0
    if w == index then current, previous = tonumber(h[2]), tonumber(h[3])
    elseif w == index - 1 then previous = tonumber(h[2]) end
    local estimate = previous * (1 - (now - index * window) / window) + current
    if estimate + cost > limit + 1e-9 then
      ok = false
      if current + cost <= limit then
        -- The previous window's share decays enough within this window.
        retry = (index + 1 - (limit - current - cost) / previous) * window - now
      else
        -- Only once this window has become the previous one and decayed enough.
        retry = (index + 2 - (limit - cost) / current) * window - now
      end
    end
    st[o + 2], st[o + 3], st[o + 4], st[o + 6] = current, previous, estimate, index
    -- The stored window index says whether the hash must be rewritten or just incremented.
    st[o + 5] = w
  end
  if not ok then allowed = false end
  st[o + 1], st[o + 7] = ok, retry
end

local charge = allowed and ARGV[1] == '1'
local reply = { allowed and 1 or 0, now }
for i = 1, n do
  local a, o = (i - 1) * 4, (i - 1) * 7
  local limit, window, cost = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]) * 1000, tonumber(ARGV[a + 5])
  local key = KEYS[i]
  local remaining, reset = 0, 0
  if ARGV[a + 2] == '1' then
    local count = st[o + 2]
    if charge then
      -- Trimmed only when adding, which keeps the set at most \`limit\` members.
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
      local stamp = t[1] .. '.' .. t[2] .. '-'
      if cost == 1 then
        redis.call('ZADD', key, now, stamp .. '1')
      else
        local args = { 'ZADD', key }
        for j = 1, cost do
          args[#args + 1] = now
          args[#args + 1] = stamp .. j
          if #args >= 2000 then redis.call(unpack(args)); args = { 'ZADD', key } end
        end
        if #args > 2 then redis.call(unpack(args)) end
      end
      redis.call('PEXPIRE', key, window / 1000)
      count = count + cost
      reset = window
    elseif count > 0 then
      -- Every admission sets the TTL to the window, so it is when the newest admission leaves.
      reset = redis.call('PTTL', key) * 1000
    end
    remaining = limit - count
  else
    local current, previous, estimate, index = st[o + 2], st[o + 3], st[o + 4], st[o + 6]
    if charge then
      if st[o + 5] == index then
        redis.call('HINCRBY', key, 'c', cost)
      else
        -- First admission of this window: the state is useless once the next window has ended.
        redis.call('HSET', key, 'w', index, 'c', cost, 'p', previous)
        redis.call('PEXPIREAT', key, (index + 2) * window / 1000)
      end
      current, estimate = current + cost, estimate + cost
    end
    remaining = math.floor(limit - estimate + 1e-9)
    if current > 0 then reset = (index + 2) * window - now
    elseif previous > 0 then reset = (index + 1) * window - now end
  end
  if remaining < 0 then remaining = 0 end
  -- A refusing limit always asks for a wait of at least 1 ms; the others for none.
  local retry = 0
  if not st[o + 1] then retry = math.max(1, math.ceil(st[o + 7] / 1000)) end
  reply[#reply + 1] = remaining
  reply[#reply + 1] = reset > 0 and math.ceil(reset / 1000) or 0
  reply[#reply + 1] = retry
end
return reply
`;

/**
 * One sliding-log limit: {@link CHECK_LUA} for a single limit, without its loops and tables, which
 * cost about a quarter of the server time of a check. Same ARGV and reply.
 */
const LOG_LUA = `-- KEYS[1]   sorted set of admissions (score = server time µs, member = "<s>.<µs>-<n>")
-- ARGV[1]   1 = consume, 0 = peek; ARGV[2] algorithm (1); ARGV[3] limit; ARGV[4] windowMs; ARGV[5] cost
-- returns   { allowed 1|0, server time µs, remaining, resetMs, retryAfterMs }
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local key, limit, window, cost = KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]) * 1000, tonumber(ARGV[5])
local count = redis.call('ZCOUNT', key, now - window + 1, '+inf')
if count + cost > limit then
  -- The (count + cost - limit)-th oldest admission in the window must leave it first; the newest
  -- leaves with the key, whose TTL every admission sets to the window.
  local oldest = redis.call('ZRANGE', key, now - window + 1, '+inf', 'BYSCORE', 'LIMIT', count + cost - limit - 1, 1, 'WITHSCORES')
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return { 0, now, remaining, redis.call('PTTL', key), math.ceil((tonumber(oldest[2]) + window - now) / 1000) }
end
if ARGV[1] ~= '1' then
  local reset = 0
  if count > 0 then reset = redis.call('PTTL', key) end
  return { 1, now, limit - count, reset, 0 }
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local stamp = t[1] .. '.' .. t[2] .. '-'
if cost == 1 then
  redis.call('ZADD', key, now, stamp .. '1')
else
  local args = { 'ZADD', key }
  for j = 1, cost do
    args[#args + 1] = now
    args[#args + 1] = stamp .. j
    if #args >= 2000 then redis.call(unpack(args)); args = { 'ZADD', key } end
  end
  if #args > 2 then redis.call(unpack(args)) end
end
redis.call('PEXPIRE', key, window / 1000)
return { 1, now, limit - count - cost, window / 1000, 0 }
`;

/** One sliding-counter limit: {@link CHECK_LUA} for a single limit. Same ARGV and reply. */
const COUNTER_LUA = `-- KEYS[1]   hash { w = fixed window index, c = its count, p = the previous window's count }
-- ARGV[1]   1 = consume, 0 = peek; ARGV[2] algorithm (2); ARGV[3] limit; ARGV[4] windowMs; ARGV[5] cost
-- returns   { allowed 1|0, server time µs, remaining, resetMs, retryAfterMs }
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local key, limit, window, cost = KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]) * 1000, tonumber(ARGV[5])
local h = redis.call('HMGET', key, 'w', 'c', 'p')
local index = math.floor(now / window)
local w = tonumber(h[1])
local current, previous = 0, 0
if w == index then current, previous = tonumber(h[2]), tonumber(h[3])
elseif w == index - 1 then previous = tonumber(h[2]) end
local estimate = previous * (1 - (now - index * window) / window) + current
local allowed, retry = 1, 0
if estimate + cost > limit + 1e-9 then
  allowed = 0
  if current + cost <= limit then
    -- The previous window's share decays enough within this window.
    retry = (index + 1 - (limit - current - cost) / previous) * window - now
  else
    -- Only once this window has become the previous one and decayed enough.
    retry = (index + 2 - (limit - cost) / current) * window - now
  end
  retry = math.ceil(retry / 1000)
  if retry < 1 then retry = 1 end
elseif ARGV[1] == '1' then
  if w == index then
    redis.call('HINCRBY', key, 'c', cost)
  else
    -- First admission of this window: the state is useless once the next window has ended.
    redis.call('HSET', key, 'w', index, 'c', cost, 'p', previous)
    redis.call('PEXPIREAT', key, (index + 2) * window / 1000)
  end
  current, estimate = current + cost, estimate + cost
end
local remaining = math.floor(limit - estimate + 1e-9)
if remaining < 0 then remaining = 0 end
local reset = 0
if current > 0 then reset = math.ceil(((index + 2) * window - now) / 1000)
elseif previous > 0 then reset = math.ceil(((index + 1) * window - now) / 1000) end
return { allowed, now, remaining, reset, retry }
`;

/** The one-limit scripts, by algorithm code (ARGV[2]). */
export const singleLimitScripts = {
  [LOG_CODE]: defineScript<ScriptArgument[], CheckReply>({
    name: 'ratelimit_log',
    numberOfKeys: 1,
    lua: LOG_LUA,
  }),
  [COUNTER_CODE]: defineScript<ScriptArgument[], CheckReply>({
    name: 'ratelimit_counter',
    numberOfKeys: 1,
    lua: COUNTER_LUA,
  }),
} as const;

/** The reply of {@link CHECK_LUA}: a header, then remaining, resetMs and retryAfterMs per limit. */
export type CheckReply = number[];

const scripts: RedisScript<ScriptArgument[], CheckReply>[] = [];

/**
 * The check script for `count` keys. The script registry fixes a script's key count, so there is
 * one registration per count; all of them share the Lua source, hence one SHA-1 on the server.
 */
export function checkScript(count: number): RedisScript<ScriptArgument[], CheckReply> {
  let script = scripts[count];
  if (script === undefined) {
    script = defineScript<ScriptArgument[], CheckReply>({
      name: `ratelimit_check_${count}`,
      numberOfKeys: count,
      lua: CHECK_LUA,
    });
    scripts[count] = script;
  }
  return script;
}

/**
 * Takes back what {@link CHECK_LUA} charged, for a request admitted by one identity's limits but
 * refused by another's on a Cluster (where identities are different hash tags, so not one script).
 */
const REFUND_LUA = `-- KEYS[i]   state of limit i, as given to the check that charged it
-- ARGV[1]   the check's server time (µs); ARGV[2] its admission stamp "<seconds>.<microseconds>-"
-- ARGV[3+3(i-1) .. 5+3(i-1)]   limit i: algorithm (1 log, 2 counter), windowMs, cost
-- returns   the number of limits refunded
local now, stamp = tonumber(ARGV[1]), ARGV[2]
local refunded = 0
for i = 1, #KEYS do
  local a = 2 + (i - 1) * 3
  local window, cost = tonumber(ARGV[a + 2]) * 1000, tonumber(ARGV[a + 3])
  if ARGV[a + 1] == '1' then
    local members = {}
    for j = 1, cost do members[j] = stamp .. j end
    refunded = refunded + (redis.call('ZREM', KEYS[i], unpack(members)) > 0 and 1 or 0)
  else
    local index = math.floor(now / window)
    local w = tonumber(redis.call('HGET', KEYS[i], 'w'))
    -- Charged to the window of the check: still the current one, or since then the previous one.
    if w == index then redis.call('HINCRBY', KEYS[i], 'c', -cost); refunded = refunded + 1
    elseif w == index + 1 then redis.call('HINCRBY', KEYS[i], 'p', -cost); refunded = refunded + 1 end
  end
end
return refunded
`;

const refundScripts: RedisScript<ScriptArgument[], number>[] = [];

/** The refund script for `count` keys (see {@link checkScript} for why one per count). */
export function refundScript(count: number): RedisScript<ScriptArgument[], number> {
  let script = refundScripts[count];
  if (script === undefined) {
    script = defineScript<ScriptArgument[], number>({
      name: `ratelimit_refund_${count}`,
      numberOfKeys: count,
      lua: REFUND_LUA,
    });
    refundScripts[count] = script;
  }
  return script;
}

/** The member prefix the check script gave admissions at `serverTimeUs`: `<seconds>.<microseconds>-`. */
export function admissionStamp(serverTimeUs: number): string {
  return `${Math.floor(serverTimeUs / 1_000_000)}.${serverTimeUs % 1_000_000}-`;
}

/**
 * The checks of one event-loop turn, in one script call: `TIME` once, then each check in arrival
 * order with the semantics of {@link CHECK_LUA} (all limits of a check decided together, a refused
 * check charged nothing). The state of each key is read at most once per batch and kept in Lua as
 * checks charge it; the writes (trim + one ZADD + PEXPIRE per sorted set, one HINCRBY or HSET +
 * PEXPIREAT per hash) go out at the end, once per key. Admissions of one batch share its server
 * time; their members are `<s>.<µs>-<check>.<n>`, unique within the batch.
 */
const BATCH_LUA = `-- KEYS      every limit's state key, check after check (sorted set: sliding-log; hash: sliding-counter)
-- ARGV      per check, in arrival order: its number of limits n (negative: peek), then per limit:
--           algorithm (1 log, 2 counter), limit, windowMs, cost
-- returns   { server time µs, then per check: allowed 1|0, then per limit: remaining, resetMs, retryAfterMs }
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stamp = t[1] .. '.' .. t[2] .. '-'
-- One state per key and window, read on first use; "order" keeps them for the writes at the end.
local states, order = {}, {}
local function load(key, code, windowText, window)
  local id = key .. '|' .. windowText
  local s = states[id]
  if s then return s end
  if code == '1' then
    s = { log = true, key = key, window = window, added = 0, members = {}, oldest = {},
      base = redis.call('ZCOUNT', key, now - window + 1, '+inf') }
  else
    local h = redis.call('HMGET', key, 'w', 'c', 'p')
    local index = math.floor(now / window)
    local w = tonumber(h[1])
    local current, previous = 0, 0
    if w == index then current, previous = tonumber(h[2]), tonumber(h[3])
    elseif w == index - 1 then previous = tonumber(h[2]) end
    s = { log = false, key = key, window = window, added = 0, w = w, index = index,
      current = current, previous = previous, share = 1 - (now - index * window) / window }
  end
  states[id] = s
  order[#order + 1] = s
  return s
end

local reply = { now }
local r = 1
local k, a, check = 0, 1, 0
local lim, ok, retry = {}, {}, {}
while a <= #ARGV do
  check = check + 1
  local n = tonumber(ARGV[a])
  local consume = n > 0
  if not consume then n = -n end
  local allowed = true
  for i = 1, n do
    local b = a + (i - 1) * 4
    local limit, cost = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 4])
    local s = load(KEYS[k + i], ARGV[b + 1], ARGV[b + 3], tonumber(ARGV[b + 3]) * 1000)
    local window = s.window
    local good, wait = true, 0
    if s.log then
      local count = s.base + s.added
      if count + cost > limit then
        good = false
        -- The (count + cost - limit)-th oldest admission in the window must leave it first: one
        -- stored before this batch (read from Redis, cached per offset), or one of this batch (now).
        local offset = count + cost - limit - 1
        local oldest = now
        if offset < s.base then
          oldest = s.oldest[offset]
          if not oldest then
            local found = redis.call('ZRANGE', s.key, now - window + 1, '+inf', 'BYSCORE', 'LIMIT', offset, 1, 'WITHSCORES')
            oldest = tonumber(found[2])
            s.oldest[offset] = oldest
          end
        end
        wait = oldest + window - now
      end
    else
      local estimate = s.previous * s.share + s.current
      if estimate + cost > limit + 1e-9 then
        good = false
        if s.current + cost <= limit then
          wait = (s.index + 1 - (limit - s.current - cost) / s.previous) * window - now
        else
          wait = (s.index + 2 - (limit - cost) / s.current) * window - now
        end
      end
    end
    if not good then allowed = false end
    lim[i], ok[i], retry[i] = s, good, wait
  end

  local charge = allowed and consume
  r = r + 1
  reply[r] = allowed and 1 or 0
  for i = 1, n do
    local b = a + (i - 1) * 4
    local limit, cost = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 4])
    local s = lim[i]
    local window = s.window
    local remaining, reset = 0, 0
    if s.log then
      if charge then
        local members = s.members
        if cost == 1 then members[#members + 1] = stamp .. check
        else for j = 1, cost do members[#members + 1] = stamp .. check .. '.' .. j end end
        s.added = s.added + cost
      end
      local count = s.base + s.added
      if s.added > 0 then
        -- Charged in this batch: the key's TTL becomes the window, when the newest admission leaves.
        reset = window
      elseif count > 0 then
        if not s.ttl then s.ttl = redis.call('PTTL', s.key) * 1000 end
        reset = s.ttl
      end
      remaining = limit - count
    else
      if charge then
        s.current = s.current + cost
        s.added = s.added + cost
      end
      remaining = math.floor(limit - (s.previous * s.share + s.current) + 1e-9)
      if s.current > 0 then reset = (s.index + 2) * window - now
      elseif s.previous > 0 then reset = (s.index + 1) * window - now end
    end
    if remaining < 0 then remaining = 0 end
    local wait = 0
    if not ok[i] then wait = math.max(1, math.ceil(retry[i] / 1000)) end
    reply[r + 1] = remaining
    reply[r + 2] = reset > 0 and math.ceil(reset / 1000) or 0
    reply[r + 3] = wait
    r = r + 3
  end
  k = k + n
  a = a + 1 + n * 4
end

-- The writes, once per key.
for _, s in ipairs(order) do
  if s.added > 0 then
    local key, window = s.key, s.window
    if s.log then
      -- Trimmed only when adding, which keeps the set at most \`limit\` members.
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
      local args = { 'ZADD', key }
      for _, member in ipairs(s.members) do
        args[#args + 1] = now
        args[#args + 1] = member
        if #args >= 2000 then redis.call(unpack(args)); args = { 'ZADD', key } end
      end
      if #args > 2 then redis.call(unpack(args)) end
      redis.call('PEXPIRE', key, window / 1000)
    elseif s.w == s.index then
      redis.call('HINCRBY', key, 'c', s.added)
    else
      redis.call('HSET', key, 'w', s.index, 'c', s.current, 'p', s.previous)
      redis.call('PEXPIREAT', key, (s.index + 2) * window / 1000)
    end
  end
end
return reply
`;

const batchScripts: RedisScript<ScriptArgument[], number[]>[] = [];

/** The batch script for `count` keys in all (see {@link checkScript} for why one per count). */
export function batchScript(count: number): RedisScript<ScriptArgument[], number[]> {
  let script = batchScripts[count];
  if (script === undefined) {
    script = defineScript<ScriptArgument[], number[]>({
      name: `ratelimit_batch_${count}`,
      numberOfKeys: count,
      lua: BATCH_LUA,
    });
    batchScripts[count] = script;
  }
  return script;
}
