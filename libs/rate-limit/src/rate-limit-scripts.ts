import { defineScript, type ScriptArgument } from '@redkit/redis';

/** Algorithm codes as the script reads them from ARGV. */
export const LOG_CODE = '1';
export const COUNTER_CODE = '2';
/** The sliding log of a small limit, kept as a packed string (see {@link PACKED_LOG_LUA}). */
export const PACKED_LOG_CODE = '3';

/**
 * Sliding-log limits up to this many units keep their log as a packed string rather than a sorted
 * set (see {@link PACKED_LOG_LUA}): 8 bytes per admitted unit, read with one GET and extended with
 * one APPEND, where a sorted set costs a ZREMRANGEBYSCORE, ZCARD, ZADD (a listpack scan) and
 * PEXPIRE. A check reads the whole string, so its cost grows with the entries in the window: a full
 * log of 1,000 costs a flooded key 18.5 µs of server time per unbatched check against 7.5 µs for
 * the sorted set, of 256 about 10 µs. Above this bound the sorted set's O(log n) wins.
 */
export const PACKED_LOG_MAX_LIMIT = 256;

/** ARGV slots per limit: algorithm, limit, windowMs, cost. */
export const ARGS_PER_LIMIT = 4;
/** Reply slots before the per-limit triples: allowed, server time in µs. */
export const REPLY_HEADER = 2;
/** Reply slots per limit: remaining, resetMs, retryAfterMs. */
export const REPLY_PER_LIMIT = 3;

/**
 * The sliding-log admission both one-request scripts share: `cost` members `<stamp><n>` at `now`
 * (µs), added in ZADD chunks because Lua's unpack has a stack limit, and the set kept until its
 * newest admission leaves the window (`window` in µs).
 */
/** What {@link LOG_ADMIT_LUA} runs through a built argument list, for the ACL manifest. */
const LOG_ADMIT_CALLS = ['zadd'];

const LOG_ADMIT_LUA = `local function logAdmit(key, now, stamp, cost, window)
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
end`;

/**
 * The packed sliding log: a string of 8-byte big-endian doubles, the admission time (µs) of each
 * admitted unit, oldest first, so the r-th oldest admission is a fixed offset. Admissions are
 * APPENDed; expired ones stay at the front as a dead prefix, found by binary search on each read,
 * until they are the majority, when the next admission rewrites the string without them. In Redis's
 * Lua every new string costs far more than a command (0.5-1 µs for a 1 KiB one, mostly collector
 * work), so a check creates only the small string of its new entries and never copies the log
 * (one GET read, an APPEND and a PEXPIRE), except for that occasional rewrite. A refused or peeking
 * check writes nothing. An admission is stamped no earlier than the newest one, which keeps the log
 * sorted even if the server's clock steps back (the step then only delays when those admissions
 * leave).
 */
const PACKED_LOG_LUA = `local spack, sunpack = struct.pack, struct.unpack
-- Returns the log (dead prefix included), the index of its first live entry, and the live count.
local function packedLoad(key, now, window)
  local log = redis.call('GET', key)
  if not log then return '', 0, 0 end
  local n = #log / 8
  local edge = now - window
  if sunpack('>d', log, 1) > edge then return log, 0, n end
  -- Entry 0 has expired; the first live one is in [1, n].
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if sunpack('>d', log, mid * 8 + 1) > edge then hi = mid else lo = mid + 1 end
  end
  return log, lo, n - lo
end
local function packedAt(log, first, rank)
  return (sunpack('>d', log, (first + rank) * 8 + 1))
end
local function packedNewest(log)
  return (sunpack('>d', log, #log - 7))
end
-- The key expires at the end of the window-long epoch after the one of its newest admission, so
-- at least a window after it; only an epoch's first admission has to set that.
local function packedAdmit(key, log, first, now, cost, window)
  local at, newest = now, nil
  if #log > 0 then
    newest = packedNewest(log)
    if newest > at then at = newest end
  end
  local epoch = math.floor(at / window)
  local expireAt = (epoch + 2) * window / 1000
  local added = spack('>d', at)
  if cost > 1 then added = string.rep(added, cost) end
  if first * 16 > #log then
    redis.call('SET', key, string.sub(log, first * 8 + 1) .. added, 'PXAT', expireAt)
  else
    redis.call('APPEND', key, added)
    if newest == nil or math.floor(newest / window) < epoch then redis.call('PEXPIREAT', key, expireAt) end
  end
end`;

/**
 * The sliding counter, shared by every script: a hash { w = fixed window index, c = its count,
 * p = the previous window's count }; the estimate is p × share + c, where share is the part of the
 * previous window still inside the sliding one.
 */
const COUNTER_LUA = `-- Returns the stored window index, this window's index, its count, the previous window's count,
-- and the previous window's share still counted.
local function counterLoad(key, now, window)
  local h = redis.call('HMGET', key, 'w', 'c', 'p')
  local index = math.floor(now / window)
  local w = tonumber(h[1])
  local current, previous = 0, 0
  if w == index then current, previous = tonumber(h[2]), tonumber(h[3])
  elseif w == index - 1 then previous = tonumber(h[2]) end
  return w, index, current, previous, 1 - (now - index * window) / window
end
-- How long (µs) a refused request of cost waits until it fits.
local function counterWait(index, current, previous, limit, cost, window, now)
  if current + cost <= limit then
    -- The previous window's share decays enough within this window.
    return (index + 1 - (limit - current - cost) / previous) * window - now
  end
  -- Only once this window has become the previous one and decayed enough.
  return (index + 2 - (limit - cost) / current) * window - now
end
-- When (µs from now) the counter no longer counts anything, or 0 when it counts nothing.
local function counterReset(index, current, previous, window, now)
  if current > 0 then return (index + 2) * window - now end
  if previous > 0 then return (index + 1) * window - now end
  return 0
end
-- Charges added units to this window: the stored window index w says whether the hash is
-- incremented or rewritten.
local function counterCharge(key, w, index, previous, added, window)
  if w == index then
    redis.call('HINCRBY', key, 'c', added)
  else
    -- First admission of this window: the state is useless once the next window has ended.
    redis.call('HSET', key, 'w', index, 'c', added, 'p', previous)
    redis.call('PEXPIREAT', key, (index + 2) * window / 1000)
  end
end`;

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
const CHECK_LUA = `-- KEYS[i]   state of limit i (sorted set: sliding-log; string: packed sliding-log; hash:
--           sliding-counter), one hash tag for all
-- ARGV[1]   1 = consume (charge every limit when all allow), 0 = peek (charge nothing)
-- ARGV[2+4(i-1) .. 5+4(i-1)]   limit i: algorithm (1 log, 2 counter, 3 packed log), limit, windowMs, cost
-- returns   { allowed 1|0, server time µs, then per limit: remaining, resetMs, retryAfterMs }
-- Numbers go to redis.call as Lua numbers, which Redis formats exactly; Lua's own tostring would
-- round a 16-digit microsecond timestamp, so it is never used on one.
${LOG_ADMIT_LUA}
${PACKED_LOG_LUA}
${COUNTER_LUA}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
-- Per limit, 7 slots: ok, count (log; and the log itself when packed) or current, previous,
-- estimate, stored window index, fixed window index (counter), retry µs.
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
  elseif ARGV[a + 2] == '3' then
    local log, first, count = packedLoad(key, now, window)
    if count + cost > limit then
      ok, retry = false, packedAt(log, first, count + cost - limit - 1) + window - now
    end
    st[o + 2], st[o + 3], st[o + 4] = count, log, first
  else
    local w, index, current, previous, share = counterLoad(key, now, window)
    local estimate = previous * share + current
    if estimate + cost > limit + 1e-9 then
      ok, retry = false, counterWait(index, current, previous, limit, cost, window, now)
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
      logAdmit(key, now, t[1] .. '.' .. t[2] .. '-', cost, window)
      count = count + cost
      reset = window
    elseif count > 0 then
      -- Every admission sets the TTL to the window, so it is when the newest admission leaves.
      reset = redis.call('PTTL', key) * 1000
    end
    remaining = limit - count
  elseif ARGV[a + 2] == '3' then
    local count, log = st[o + 2], st[o + 3]
    if charge then
      packedAdmit(key, log, st[o + 4], now, cost, window)
      count = count + cost
      reset = window
    elseif count > 0 then
      reset = packedNewest(log) + window - now
    end
    remaining = limit - count
  else
    local current, previous, estimate, index = st[o + 2], st[o + 3], st[o + 4], st[o + 6]
    if charge then
      counterCharge(key, st[o + 5], index, previous, cost, window)
      current, estimate = current + cost, estimate + cost
    end
    remaining = math.floor(limit - estimate + 1e-9)
    reset = counterReset(index, current, previous, window, now)
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

/** What every one-limit script starts with: the server's time (µs) and its one limit's ARGV. */
const ONE_LIMIT_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local key, limit, window, cost = KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]) * 1000, tonumber(ARGV[5])`;

/**
 * One sliding-log limit: {@link CHECK_LUA} for a single limit, without its loops and tables, which
 * cost about a quarter of the server time of a check. Same ARGV and reply.
 */
const LOG_LUA = `-- KEYS[1]   sorted set of admissions (score = server time µs, member = "<s>.<µs>-<n>")
-- ARGV[1]   1 = consume, 0 = peek; ARGV[2] algorithm (1); ARGV[3] limit; ARGV[4] windowMs; ARGV[5] cost
-- returns   { allowed 1|0, server time µs, remaining, resetMs, retryAfterMs }
${LOG_ADMIT_LUA}
${ONE_LIMIT_LUA}
-- Expired admissions go first (a write only when one has expired): the set then holds exactly the
-- window, so ZCARD is the count and rank r the (r+1)-th oldest admission (cheaper than ZCOUNT and
-- ZRANGE BYSCORE on a small set's listpack).
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count + cost > limit then
  -- The (count + cost - limit)-th oldest admission in the window must leave it first; the newest
  -- leaves with the key, whose TTL every admission sets to the window.
  local rank = count + cost - limit - 1
  local oldest = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return { 0, now, remaining, redis.call('PTTL', key), math.ceil((tonumber(oldest[2]) + window - now) / 1000) }
end
if ARGV[1] ~= '1' then
  local reset = 0
  if count > 0 then reset = redis.call('PTTL', key) end
  return { 1, now, limit - count, reset, 0 }
end
logAdmit(key, now, t[1] .. '.' .. t[2] .. '-', cost, window)
return { 1, now, limit - count - cost, window / 1000, 0 }
`;

/** One packed sliding-log limit: {@link CHECK_LUA} for a single limit. Same ARGV and reply. */
const PACKED_LOG_SINGLE_LUA = `-- KEYS[1]   packed log: 8-byte big-endian admission times (µs), oldest first, one per unit
-- ARGV[1]   1 = consume, 0 = peek; ARGV[2] algorithm (3); ARGV[3] limit; ARGV[4] windowMs; ARGV[5] cost
-- returns   { allowed 1|0, server time µs, remaining, resetMs, retryAfterMs }
${PACKED_LOG_LUA}
${ONE_LIMIT_LUA}
local log, first, count = packedLoad(key, now, window)
if count + cost > limit then
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  local oldest = packedAt(log, first, count + cost - limit - 1)
  return { 0, now, remaining, math.ceil((packedNewest(log) + window - now) / 1000), math.ceil((oldest + window - now) / 1000) }
end
if ARGV[1] ~= '1' then
  local reset = 0
  if count > 0 then reset = math.ceil((packedNewest(log) + window - now) / 1000) end
  return { 1, now, limit - count, reset, 0 }
end
packedAdmit(key, log, first, now, cost, window)
return { 1, now, limit - count - cost, window / 1000, 0 }
`;

/** One sliding-counter limit: {@link CHECK_LUA} for a single limit. Same ARGV and reply. */
const COUNTER_SINGLE_LUA = `-- KEYS[1]   hash { w = fixed window index, c = its count, p = the previous window's count }
-- ARGV[1]   1 = consume, 0 = peek; ARGV[2] algorithm (2); ARGV[3] limit; ARGV[4] windowMs; ARGV[5] cost
-- returns   { allowed 1|0, server time µs, remaining, resetMs, retryAfterMs }
${COUNTER_LUA}
${ONE_LIMIT_LUA}
local w, index, current, previous, share = counterLoad(key, now, window)
local estimate = previous * share + current
local allowed, retry = 1, 0
if estimate + cost > limit + 1e-9 then
  allowed = 0
  retry = math.ceil(counterWait(index, current, previous, limit, cost, window, now) / 1000)
  if retry < 1 then retry = 1 end
elseif ARGV[1] == '1' then
  counterCharge(key, w, index, previous, cost, window)
  current, estimate = current + cost, estimate + cost
end
local remaining = math.floor(limit - estimate + 1e-9)
if remaining < 0 then remaining = 0 end
local reset = math.ceil(counterReset(index, current, previous, window, now) / 1000)
return { allowed, now, remaining, reset, retry }
`;

/** The one-limit scripts, by algorithm code (ARGV[2]). */
const singleLimitScripts = {
  [LOG_CODE]: defineScript<ScriptArgument[], CheckReply>({
    name: 'ratelimit_log',
    numberOfKeys: 1,
    calls: LOG_ADMIT_CALLS,
    lua: LOG_LUA,
  }),
  [COUNTER_CODE]: defineScript<ScriptArgument[], CheckReply>({
    name: 'ratelimit_counter',
    numberOfKeys: 1,
    lua: COUNTER_SINGLE_LUA,
  }),
  [PACKED_LOG_CODE]: defineScript<ScriptArgument[], CheckReply>({
    name: 'ratelimit_packed_log',
    numberOfKeys: 1,
    lua: PACKED_LOG_SINGLE_LUA,
  }),
} as const;

/** The one-limit script for a limit's algorithm code (the first of its ARGV values). */
export function singleLimitScript(code: string) {
  return singleLimitScripts[code as keyof typeof singleLimitScripts];
}

/** The reply of {@link CHECK_LUA}: a header, then remaining, resetMs and retryAfterMs per limit. */
export type CheckReply = number[];

/** The check script: one key per limit of the request. */
export const checkScript = defineScript<ScriptArgument[], CheckReply>({
  name: 'ratelimit_check',
  numberOfKeys: 'variable',
  calls: LOG_ADMIT_CALLS,
  lua: CHECK_LUA,
});

/**
 * Takes back what {@link CHECK_LUA} charged, for a request admitted by one identity's limits but
 * refused by another's on a Cluster (where identities are different hash tags, so not one script).
 */
const REFUND_LUA = `-- KEYS[i]   state of limit i, as given to the check that charged it
-- ARGV[1]   the check's server time (µs); ARGV[2] its admission stamp "<seconds>.<microseconds>-"
-- ARGV[3+3(i-1) .. 5+3(i-1)]   limit i: algorithm (1 log, 2 counter, 3 packed log), windowMs, cost
-- returns   the number of limits refunded
local now, stamp = tonumber(ARGV[1]), ARGV[2]
local stampNow = struct.pack('>d', now)
local refunded = 0
for i = 1, #KEYS do
  local a = 2 + (i - 1) * 3
  local window, cost = tonumber(ARGV[a + 2]) * 1000, tonumber(ARGV[a + 3])
  if ARGV[a + 1] == '1' then
    local members = {}
    for j = 1, cost do members[j] = stamp .. j end
    refunded = refunded + (redis.call('ZREM', KEYS[i], unpack(members)) > 0 and 1 or 0)
  elseif ARGV[a + 1] == '3' then
    -- The check's units are cost entries stamped now: any cost of them are the same bytes. Later
    -- admissions may follow them.
    local log = redis.call('GET', KEYS[i])
    if log then
      local from, run = nil, 0
      for at = #log - 7, 1, -8 do
        local entry = string.sub(log, at, at + 7)
        if entry == stampNow then from, run = at, run + 1
        elseif from or entry < stampNow then break end
      end
      if run >= cost then
        local ttl = redis.call('PTTL', KEYS[i])
        local rest = string.sub(log, 1, from - 1) .. string.sub(log, from + cost * 8)
        if #rest == 0 then redis.call('DEL', KEYS[i])
        elseif ttl > 0 then redis.call('SET', KEYS[i], rest, 'PX', ttl) end
        refunded = refunded + 1
      end
    end
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

/** The refund script: one key per limit refunded. */
export const refundScript = defineScript<ScriptArgument[], number>({
  name: 'ratelimit_refund',
  numberOfKeys: 'variable',
  lua: REFUND_LUA,
});

/** The member prefix the check script gave admissions at `serverTimeUs`: `<seconds>.<microseconds>-`. */
export function admissionStamp(serverTimeUs: number): string {
  return `${Math.floor(serverTimeUs / 1_000_000)}.${serverTimeUs % 1_000_000}-`;
}

/**
 * The checks of one event-loop turn, in one script call: `TIME` once, then each check in arrival
 * order with the semantics of {@link CHECK_LUA} (all limits of a check decided together, a refused
 * check charged nothing). The state of each key is read at most once per batch and kept in Lua as
 * checks charge it; the writes (one ZADD + PEXPIRE per sorted set, one HINCRBY or HSET + PEXPIREAT
 * per hash) go out at the end, once per key. Admissions of one batch share its server time; their
 * members are `<s>.<µs>-<check>` (`-<check>.<n>` for a cost above 1), unique within the batch.
 *
 * The sliding log trims expired admissions when it first reads a key (a write only when one has
 * expired), so the set holds exactly the window: ZCARD is the count and rank r the (r+1)-th oldest
 * admission, both cheaper than ZCOUNT and ZRANGE BYSCORE on a listpack. The state lives in flat
 * arrays indexed by state number rather than a table per key, which keeps the Lua work per check small.
 */
const BATCH_LUA = `-- KEYS      every limit's state key, check after check (sorted set: sliding-log; string: packed
--           sliding-log; hash: sliding-counter)
-- ARGV[1]   P, the number of distinct limits in the batch
-- ARGV[2+4(p-1) .. 5+4(p-1)]   limit p: algorithm (1 log, 2 counter, 3 packed log), limit, windowMs, cost
-- ARGV[2+4P ..]   per check, in arrival order: its number of limits n (negative: peek), then the n
--           limits' numbers p (1-based), one per key of the check
-- returns   { server time µs, then per check: allowed 1|0, then per limit: remaining, resetMs, retryAfterMs }
${PACKED_LOG_LUA}
${COUNTER_LUA}
local call, tonumber, floor, ceil = redis.call, tonumber, math.floor, math.ceil
local t = call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stamp = t[1] .. '.' .. t[2] .. '-'
local P = tonumber(ARGV[1])
local plog, ppacked, plimit, pwindow, pcost = {}, {}, {}, {}, {}
for p = 1, P do
  local b = 2 + (p - 1) * 4
  plog[p], plimit[p], pwindow[p], pcost[p] = ARGV[b] == '1', tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]) * 1000, tonumber(ARGV[b + 3])
  ppacked[p] = ARGV[b] == '3'
end

-- State number by key (by key and window for a key met again with another window); per state:
-- key, limit number, added units, then log: count before the batch, new member(s), PTTL cache,
-- rank cache (packed log: count before the batch, the log, its first live entry); counter: stored window index, current index, current and previous counts, share of
-- the previous window still counted.
local sid = {}
local skey, sp, sadded, sbase, smember, sttl, srank, slog, sfirst = {}, {}, {}, {}, {}, {}, {}, {}, {}
local sw, sindex, scur, sprev, sshare = {}, {}, {}, {}, {}
local nstates = 0
local function load(key, p)
  local id = sid[key]
  if id then
    if pwindow[sp[id]] == pwindow[p] then return id end
    local alias = key .. '|' .. pwindow[p]
    id = sid[alias]
    if id then return id end
    nstates = nstates + 1
    sid[alias] = nstates
  else
    nstates = nstates + 1
    sid[key] = nstates
  end
  id = nstates
  local window = pwindow[p]
  skey[id], sp[id], sadded[id] = key, p, 0
  if plog[p] then
    call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    sbase[id] = call('ZCARD', key)
  elseif ppacked[p] then
    slog[id], sfirst[id], sbase[id] = packedLoad(key, now, window)
  else
    sw[id], sindex[id], scur[id], sprev[id], sshare[id] = counterLoad(key, now, window)
  end
  return id
end

local reply = { now }
local r = 1
local k, a, check = 0, 2 + P * 4, 0
local lim, lp, ok, retry = {}, {}, {}, {}
local nargs = #ARGV
while a <= nargs do
  check = check + 1
  local n = tonumber(ARGV[a])
  local consume = n > 0
  if not consume then n = -n end
  local allowed = true
  for i = 1, n do
    local p = tonumber(ARGV[a + i])
    local id = load(KEYS[k + i], p)
    local limit, cost, window = plimit[p], pcost[p], pwindow[p]
    local good, wait = true, 0
    if plog[p] or ppacked[p] then
      local base = sbase[id]
      local count = base + sadded[id]
      if count + cost > limit then
        good = false
        -- The (count + cost - limit)-th oldest admission in the window must leave it first: one
        -- stored before this batch (by rank, cached), or one of this batch (now).
        local rank = count + cost - limit - 1
        local oldest
        if rank >= base then
          oldest = now
        elseif ppacked[p] then
          oldest = packedAt(slog[id], sfirst[id], rank)
        else
          local ranks = srank[id]
          if not ranks then ranks = {}; srank[id] = ranks end
          oldest = ranks[rank]
          if not oldest then
            oldest = tonumber(call('ZRANGE', skey[id], rank, rank, 'WITHSCORES')[2])
            ranks[rank] = oldest
          end
        end
        wait = oldest + window - now
      end
    else
      local current, previous = scur[id], sprev[id]
      if previous * sshare[id] + current + cost > limit + 1e-9 then
        good, wait = false, counterWait(sindex[id], current, previous, limit, cost, window, now)
      end
    end
    if not good then allowed = false end
    lim[i], lp[i], ok[i], retry[i] = id, p, good, wait
  end

  local charge = allowed and consume
  r = r + 1
  reply[r] = allowed and 1 or 0
  for i = 1, n do
    local p, id = lp[i], lim[i]
    local limit, cost, window = plimit[p], pcost[p], pwindow[p]
    local remaining, reset = 0, 0
    if plog[p] or ppacked[p] then
      if charge and ppacked[p] then
        sadded[id] = sadded[id] + cost
      elseif charge then
        local member = smember[id]
        if cost == 1 and member == nil then
          smember[id] = stamp .. check
        else
          if type(member) ~= 'table' then member = { member }; smember[id] = member end
          if cost == 1 then member[#member + 1] = stamp .. check
          else for j = 1, cost do member[#member + 1] = stamp .. check .. '.' .. j end end
        end
        sadded[id] = sadded[id] + cost
      end
      local count = sbase[id] + sadded[id]
      if sadded[id] > 0 then
        -- Charged in this batch: the key's TTL becomes the window, when the newest admission leaves.
        reset = window
      elseif count > 0 and ppacked[p] then
        reset = packedNewest(slog[id]) + window - now
      elseif count > 0 then
        reset = sttl[id]
        if not reset then reset = call('PTTL', skey[id]) * 1000; sttl[id] = reset end
      end
      remaining = limit - count
    else
      if charge then
        scur[id] = scur[id] + cost
        sadded[id] = sadded[id] + cost
      end
      local current = scur[id]
      remaining = floor(limit - (sprev[id] * sshare[id] + current) + 1e-9)
      reset = counterReset(sindex[id], current, sprev[id], window, now)
    end
    if remaining < 0 then remaining = 0 end
    local wait = 0
    if not ok[i] then
      wait = ceil(retry[i] / 1000)
      if wait < 1 then wait = 1 end
    end
    reply[r + 1] = remaining
    reply[r + 2] = reset > 0 and ceil(reset / 1000) or 0
    reply[r + 3] = wait
    r = r + 3
  end
  k = k + n
  a = a + 1 + n
end

-- The writes, once per key.
for id = 1, nstates do
  local added = sadded[id]
  if added > 0 then
    local key, p = skey[id], sp[id]
    local window = pwindow[p]
    if plog[p] then
      local member = smember[id]
      if type(member) ~= 'table' then
        call('ZADD', key, now, member)
      else
        local args = { 'ZADD', key }
        for _, one in ipairs(member) do
          args[#args + 1] = now
          args[#args + 1] = one
          if #args >= 2000 then call(unpack(args)); args = { 'ZADD', key } end
        end
        if #args > 2 then call(unpack(args)) end
      end
      call('PEXPIRE', key, window / 1000)
    elseif ppacked[p] then
      packedAdmit(key, slog[id], sfirst[id], now, added, window)
    else
      counterCharge(key, sw[id], sindex[id], sprev[id], added, window)
    end
  end
end
return reply
`;

/** The batch script: every key of every check of the batch. */
export const batchScript = defineScript<ScriptArgument[], number[]>({
  name: 'ratelimit_batch',
  numberOfKeys: 'variable',
  calls: LOG_ADMIT_CALLS,
  lua: BATCH_LUA,
});
