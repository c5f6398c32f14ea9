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
 * arithmetic are in integer microseconds and go to Redis as `%.0f` strings, because Lua's number
 * formatting (`%.14g`) would round a 16-digit timestamp.
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
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local consume = ARGV[1] == '1'
local n = #KEYS
local function int(x) return string.format('%.0f', x) end
local function ms(us) if us <= 0 then return 0 end return math.ceil(us / 1000) end

local reply = { 1, now }
local states = {}
local allowed = true
for i = 1, n do
  local a = 1 + (i - 1) * 4
  local algorithm, limit = ARGV[a + 1], tonumber(ARGV[a + 2])
  local window, cost = tonumber(ARGV[a + 3]) * 1000, tonumber(ARGV[a + 4])
  local key = KEYS[i]
  local s = { algorithm = algorithm, limit = limit, window = window, cost = cost }
  if algorithm == '1' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now - window))
    local count = redis.call('ZCARD', key)
    s.count = count
    s.ok = count + cost <= limit
    if not s.ok then
      -- The (count + cost - limit)-th oldest admission must leave the window first.
      local oldest = redis.call('ZRANGE', key, count + cost - limit - 1, count + cost - limit - 1, 'WITHSCORES')
      s.retry = tonumber(oldest[2]) + window - now
    end
  else
    local h = redis.call('HMGET', key, 'w', 'c', 'p')
    local index = math.floor(now / window)
    local w = tonumber(h[1])
    local current, previous = 0, 0
    if w == index then current, previous = tonumber(h[2]), tonumber(h[3])
    elseif w == index - 1 then previous = tonumber(h[2]) end
    local fraction = (now - index * window) / window
    local estimate = previous * (1 - fraction) + current
    s.index, s.current, s.previous, s.estimate = index, current, previous, estimate
    s.ok = estimate + cost <= limit + 1e-9
    if not s.ok then
      if current + cost <= limit then
        -- The previous window's share decays enough within this window.
        s.retry = (1 - (limit - current - cost) / previous) * window + index * window - now
      else
        -- Only once this window has become the previous one and decayed enough.
        s.retry = (index + 1) * window + (1 - (limit - cost) / current) * window - now
      end
    end
  end
  if not s.ok then allowed = false end
  states[i] = s
end

local charge = allowed and consume
if not allowed then reply[1] = 0 end
for i = 1, n do
  local s, key = states[i], KEYS[i]
  local remaining, reset, retry = 0, 0, 0
  if s.algorithm == '1' then
    local count = s.count
    if charge then
      local stamp = int(now)
      local args = { 'ZADD', key }
      for j = 1, s.cost do
        args[#args + 1] = stamp
        args[#args + 1] = stamp .. '-' .. j
        if #args >= 2000 then redis.call(unpack(args)); args = { 'ZADD', key } end
      end
      if #args > 2 then redis.call(unpack(args)) end
      redis.call('PEXPIRE', key, int(s.window / 1000))
      count = count + s.cost
      reset = s.window
    elseif count > 0 then
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      reset = tonumber(newest[2]) + s.window - now
    end
    remaining = s.limit - count
  else
    local current = s.current
    local estimate = s.estimate
    if charge then
      current = current + s.cost
      estimate = estimate + s.cost
      redis.call('HSET', key, 'w', int(s.index), 'c', current, 'p', s.previous)
      redis.call('PEXPIRE', key, int(2 * s.window / 1000))
    end
    remaining = math.floor(s.limit - estimate + 1e-9)
    if current > 0 then reset = (s.index + 2) * s.window - now
    elseif s.previous > 0 then reset = (s.index + 1) * s.window - now end
  end
  if remaining < 0 then remaining = 0 end
  if not s.ok then retry = s.retry end
  reply[#reply + 1] = remaining
  reply[#reply + 1] = ms(reset)
  reply[#reply + 1] = ms(retry)
end
return reply
`;

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
