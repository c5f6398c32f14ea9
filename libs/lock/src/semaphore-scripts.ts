import { defineScript } from '@redkit/redis';

import { FENCE_GRACE_MS, NEXT_FENCE } from './fence.lua.js';
import { NOW_MS } from './lock-scripts.js';

/**
 * The Lua behind `Semaphore`. All seven keys of a semaphore share its name as hash tag:
 *
 * - `holders`: ZSET permit id -> lease end (server milliseconds);
 * - `permits`: HASH permit id -> `"<permits> <fencing token>"`, so a holder of many permits is one
 *   entry (`acquire(5000)` costs what `acquire(1)` does);
 * - `used`: the sum of the live holders' permits;
 * - `fence`: the fencing counter (next_fence, one token per grant);
 * - `queue`: fair mode's waiters, ZSET permit id -> arrival (server microseconds);
 * - `waiters`: HASH permit id -> `"<deadline ms> <permits> <ttl ms> <channel>"`;
 * - `contended`: non-fair mode's HASH semaphore object id -> until when (server ms) it counts as
 *   waiting: objects refused recently. An object that learns that another one waits stops handing
 *   permits over in-process and lets every waiter compete in Redis.
 *
 * Every time is the server's (`TIME`): clients' clocks never enter a score. `holders`, `permits` and
 * `used` expire a second after the last lease ends; `queue`, `waiters` and `contended` with their
 * entries.
 */
/**
 * Fencing tokens a grant reserves: its holder takes the first, and each in-process hand-over of the
 * same permits (see Semaphore) the next; any later grant counts past the whole block.
 */
export const SEMAPHORE_FENCE_BLOCK = 16;

const SEMAPHORE_LIB = `${NOW_MS}
${NEXT_FENCE}
local holders, permits, used, fence, queue, waiters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local contended = KEYS[7]
local now = now_ms()

-- 1 when a semaphore object other than \`object\` was refused within its window, else 0 (dropping
-- the entries whose window ended).
local function others_wait(object)
  local seen = redis.call('HGETALL', contended)
  local others = 0
  for i = 1, #seen, 2 do
    if tonumber(seen[i + 1]) < now then redis.call('HDEL', contended, seen[i])
    elseif seen[i] ~= object then others = 1 end
  end
  return others
end

-- Drops holders whose lease ended, returning their permits.
local function expire_holders()
  local ended = redis.call('ZRANGEBYSCORE', holders, '-inf', now)
  for _, id in ipairs(ended) do
    local entry = redis.call('HGET', permits, id)
    if entry then redis.call('DECRBY', used, tonumber(string.match(entry, '^(%d+)'))) end
    redis.call('HDEL', permits, id)
    redis.call('ZREM', holders, id)
  end
end

-- Keeps the holder keys alive until a second after the last lease, or deletes them when none is left.
local function touch()
  local last = redis.call('ZRANGE', holders, -1, -1, 'WITHSCORES')[2]
  if not last then
    redis.call('DEL', holders, permits, used)
    return
  end
  local ttl = tonumber(last) - now + ${FENCE_GRACE_MS}
  redis.call('PEXPIRE', holders, ttl)
  redis.call('PEXPIRE', permits, ttl)
  redis.call('PEXPIRE', used, ttl)
end

local function in_use()
  return tonumber(redis.call('GET', used) or '0')
end

-- Makes id a holder of n permits for ttl ms; returns the last fencing token of the block it reserves.
local function grant(id, n, ttl)
  local token = next_fence(fence, ${SEMAPHORE_FENCE_BLOCK}, ttl)
  redis.call('ZADD', holders, now + tonumber(ttl), id)
  redis.call('HSET', permits, id, n .. ' ' .. string.format('%.0f', token))
  redis.call('INCRBY', used, n)
  return token
end

local function leave_queue(id)
  if redis.call('HDEL', waiters, id) == 1 then redis.call('ZREM', queue, id) end
end

-- Fair mode: grants the oldest live waiters, in order, while their permits fit (a waiter that does not
-- fit blocks those behind it), telling each on its channel unless it is the caller. At most 32 per
-- call, to bound the script's time.
local function grant_waiters(limit, caller)
  for _ = 1, 32 do
    local head = redis.call('ZRANGE', queue, 0, 0)[1]
    if not head then return end
    local entry = redis.call('HGET', waiters, head)
    local deadline, n, ttl, channel
    if entry then deadline, n, ttl, channel = string.match(entry, '^(%d+) (%d+) (%d+) (.*)$') end
    if deadline and tonumber(deadline) >= now then
      if in_use() + tonumber(n) > limit then return end
      local token = grant(head, tonumber(n), ttl)
      if channel ~= '' and head ~= caller then
        redis.call('PUBLISH', channel, head .. ' ' .. string.format('%.0f', token))
      end
    end
    leave_queue(head)
    if not deadline then redis.call('ZREM', queue, head) end
  end
end
`;

/**
 * KEYS: holders, permits, used, fence, queue, waiters, contended.
 * ARGV[1] permit id, ARGV[2] permits, ARGV[3] limit, ARGV[4] TTL ms, ARGV[5] '1' fair, ARGV[6] the
 * caller's channel, ARGV[7] wait-entry lifetime ms (0: a single attempt, never queued nor counted as
 * waiting), ARGV[8] the semaphore object's id, ARGV[9] '1' when a grant leaves the object with no
 * waiter (its `contended` entry goes).
 * Returns `[reply, othersWait]`: reply is the last token of its fencing block (> 0) when the caller
 * holds the permits for ARGV[4] ms (newly, or because fair mode granted them while it waited; the
 * lease then restarts now), else minus the milliseconds until the earliest lease ends (a hint for
 * the retry; 0 when unknown); othersWait (non-fair mode) is 1 when another object waits.
 */
const ACQUIRE_LUA = `-- KEYS: holders, permits, used, fence, queue, waiters, contended
-- ARGV[1] id, ARGV[2] permits, ARGV[3] limit, ARGV[4] ttl ms, ARGV[5] fair '1'|'0', ARGV[6] channel,
-- ARGV[7] wait entry lifetime ms (0: never queue nor count as waiting), ARGV[8] semaphore object id,
-- ARGV[9] '1' when a grant leaves that object with no waiter
-- returns { token when the caller holds the permits, else minus the ms until a lease ends,
--           1 when another semaphore object waits (non-fair mode), else 0 }
${SEMAPHORE_LIB}
local id, n, limit, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local fair, lifetime, object = ARGV[5] == '1', tonumber(ARGV[7]), ARGV[8]
expire_holders()
if fair then grant_waiters(limit, id) end
local held = redis.call('HGET', permits, id)
local token
if held then
  -- granted while it waited: the lease restarts now, as the caller counts it from its request
  redis.call('ZADD', holders, 'XX', now + tonumber(ttl), id)
  token = tonumber(string.match(held, ' (%d+)$'))
elseif (not fair or redis.call('EXISTS', queue) == 0) and in_use() + n <= limit then
  token = grant(id, n, ttl)
end
local others = 0
if not fair then
  if token == nil and lifetime > 0 then
    redis.call('HSET', contended, object, now + lifetime)
    if redis.call('PTTL', contended) < lifetime then redis.call('PEXPIRE', contended, lifetime) end
  elseif token and ARGV[9] == '1' then
    redis.call('HDEL', contended, object)
  end
  others = others_wait(object)
end
if token then
  leave_queue(id)
  touch()
  return { token, others }
end
touch()
if fair and lifetime > 0 then
  local t = redis.call('TIME')
  redis.call('ZADD', queue, 'NX', tonumber(t[1]) * 1000000 + tonumber(t[2]), id)
  redis.call('HSET', waiters, id, (now + lifetime) .. ' ' .. n .. ' ' .. ttl .. ' ' .. ARGV[6])
  if redis.call('PTTL', queue) < lifetime then
    redis.call('PEXPIRE', queue, lifetime)
    redis.call('PEXPIRE', waiters, lifetime)
  end
end
local first = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')[2]
if not first then return { 0, others } end
return { -(tonumber(first) - now), others }`;

/**
 * KEYS as for acquire (`contended` unused). ARGV[1] permit id, ARGV[2] limit.
 * Returns 1 when the caller held permits (now returned, and in fair mode granted to the waiters next
 * in line), else 0: it had expired, or was never granted (then it only leaves the queue).
 */
const RELEASE_LUA = `-- KEYS: holders, permits, used, fence, queue, waiters, contended; ARGV[1] id, ARGV[2] limit
-- returns 1 when the caller held permits (now returned), else 0
${SEMAPHORE_LIB}
local id = ARGV[1]
expire_holders()
local released = 0
local entry = redis.call('HGET', permits, id)
if entry then
  redis.call('DECRBY', used, tonumber(string.match(entry, '^(%d+)')))
  redis.call('HDEL', permits, id)
  redis.call('ZREM', holders, id)
  released = 1
else
  leave_queue(id)
end
grant_waiters(tonumber(ARGV[2]), id)
touch()
return released`;

/**
 * KEYS as for acquire. ARGV[1] permit id, ARGV[2] TTL ms.
 * Returns 1 when the caller still held its permits (the lease now ends ARGV[2] ms from now), else 0.
 * A permit whose lease ended is never added back, even if nobody has taken its place yet.
 */
const EXTEND_LUA = `-- KEYS: holders, permits, used, fence, queue, waiters, contended; ARGV[1] id, ARGV[2] ttl ms
-- returns 1 when the caller still held its permits and its lease now ends in ARGV[2] ms, else 0
${SEMAPHORE_LIB}
expire_holders()
local extended = 0
if redis.call('ZSCORE', holders, ARGV[1]) then
  redis.call('ZADD', holders, 'XX', now + tonumber(ARGV[2]), ARGV[1])
  extended = 1
end
touch()
return extended`;

/**
 * KEYS as for acquire. ARGV[1] limit.
 * Returns the permits free now (limit minus those of live holders, at least 0), after returning
 * those of ended leases (and, in fair mode, granting waiters that now fit).
 */
const AVAILABLE_LUA = `-- KEYS: holders, permits, used, fence, queue, waiters, contended; ARGV[1] limit
-- returns the permits free now
${SEMAPHORE_LIB}
local limit = tonumber(ARGV[1])
expire_holders()
grant_waiters(limit, '')
touch()
local free = limit - in_use()
if free < 0 then return 0 end
return free`;

export const semaphoreAcquireScript = defineScript<
  [
    id: string,
    permits: number,
    limit: number,
    ttlMs: number,
    fair: '0' | '1',
    channel: string,
    waitEntryMs: number,
    object: string,
    lastWaiter: '0' | '1',
  ],
  [reply: number, othersWait: 0 | 1]
>({ name: 'semaphore_acquire', numberOfKeys: 7, lua: ACQUIRE_LUA });

export const semaphoreReleaseScript = defineScript<[id: string, limit: number], number>({
  name: 'semaphore_release',
  numberOfKeys: 7,
  lua: RELEASE_LUA,
});

export const semaphoreExtendScript = defineScript<[id: string, ttlMs: number], number>({
  name: 'semaphore_extend',
  numberOfKeys: 7,
  lua: EXTEND_LUA,
});

export const semaphoreAvailableScript = defineScript<[limit: number], number>({
  name: 'semaphore_available',
  numberOfKeys: 7,
  lua: AVAILABLE_LUA,
});
