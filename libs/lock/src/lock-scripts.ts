import { defineScript } from '@redkit/redis';

import { FENCE_GRACE_MS, NEXT_FENCE } from './fence.lua.js';

/**
 * Fencing tokens reserved per acquisition in Redis: the counter advances by this much, the holder
 * gets the first token of the block and hands the rest, in order, to waiters of its own process
 * (in-process hand-over, no Redis round trip). Any later acquisition, in any process, counts past
 * the whole block, so tokens still strictly increase in acquisition order.
 */
export const FENCE_BLOCK = 16;

/**
 * The Lua behind every lock. All four keys of a resource share one hash tag, so each script runs on
 * one Cluster slot:
 *
 * - `owner`: the holder's random token, with the lock's TTL (`SET NX PX`);
 * - `fence`: the resource's fencing counter: the last token issued, advanced on every acquisition by
 *   FENCE_BLOCK, or to the server's clock in microseconds when that is further (see next_fence: it
 *   expires a while after its last use, and a missing or stale counter restarts from the clock, so
 *   tokens still only grow); scripts return the block's last token;
 * - `queue`: a ZSET of waiting tokens scored by arrival (server milliseconds), oldest first;
 * - `waiters`: a HASH token -> `"<deadlineMs> <ttlMs> <channel>"`: until when the waiter counts as
 *   alive (it re-registers on every attempt), the TTL it asked for, where to tell it it holds the lock.
 *
 * A free lock with live waiters is never simply taken: it is handed to the oldest live waiter (who is
 * told on its channel), so waiters are served in arrival order and a release wakes exactly one.
 */
export const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

const GRANT_HEAD = `
-- Hands the free lock of one resource (owner key o, fence key f, queue q, waiters w) to the oldest
-- waiter whose entry is still alive, dropping dead entries on the way (at most 32 per call, to bound
-- the script's time). Publishes "<token> <fence>" on the waiter's channel unless the waiter is the
-- caller. Returns token, fence or false. Reads the server's clock (now_ms) only when the queue has an
-- entry: an absent queue (the uncontended release) costs one EXISTS, cheaper than an empty ZRANGE.
local function grant_head(o, f, q, w, caller)
  if redis.call('EXISTS', q) == 0 then return false end
  local now
  for _ = 1, 32 do
    local head = redis.call('ZRANGE', q, 0, 0)[1]
    if not head then return false end
    local entry = redis.call('HGET', w, head)
    redis.call('ZREM', q, head)
    redis.call('HDEL', w, head)
    if entry then
      local deadline, ttl, channel = string.match(entry, '^(%d+) (%d+) (.*)$')
      now = now or now_ms()
      if deadline and tonumber(deadline) >= now then
        redis.call('SET', o, head, 'PX', ttl)
        local fence = next_fence(f, ${FENCE_BLOCK}, ttl)
        if channel ~= '' and head ~= caller then
          redis.call('PUBLISH', channel, head .. ' ' .. string.format('%.0f', fence))
        end
        return head, fence
      end
    end
  end
  return false
end
`;

/**
 * KEYS[1] owner, KEYS[2] fence, KEYS[3] queue, KEYS[4] waiters.
 * ARGV[1] token, ARGV[2] TTL ms, ARGV[3] the caller's channel, ARGV[4] queue-entry lifetime ms
 * (0: do not queue, a single attempt), ARGV[5] '1' when the caller may already be queued (a retry).
 * Returns the fencing token (> 0) when the caller holds the lock with ARGV[2] ms to live, newly or
 * because it was handed to it while it waited (its TTL is then reset, so that the caller's estimate,
 * counted from before its request, stays conservative). Otherwise returns minus the holder's
 * remaining TTL (<= 0).
 *
 * The fast path, a free lock, is `SET NX PX` and the next fence block: a lock is only ever free while waiters are
 * queued when its holder let it expire (a release hands it over), and then whoever asks first takes
 * it and hands it on at its own release.
 */
const ACQUIRE_LUA = `-- KEYS[1] owner, KEYS[2] fence, KEYS[3] queue, KEYS[4] waiters
-- ARGV[1] token, ARGV[2] ttl ms, ARGV[3] waiter channel, ARGV[4] queue entry lifetime ms (0: no queue),
-- ARGV[5] '1' on a retry (the caller may be queued)
-- returns the fencing token when the caller holds the lock, else minus the holder's remaining ttl
${NOW_MS}
${NEXT_FENCE}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if ARGV[5] == '1' and redis.call('HDEL', KEYS[4], ARGV[1]) == 1 then redis.call('ZREM', KEYS[3], ARGV[1]) end
  return next_fence(KEYS[2], ${FENCE_BLOCK}, ARGV[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  -- handed to us while we waited (the notice may have been lost); the counter holds our block,
  -- unless it is gone, and then a new block is as good
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local fence = redis.call('GET', KEYS[2])
  if fence then return tonumber(fence) end
  return next_fence(KEYS[2], ${FENCE_BLOCK}, ARGV[2])
end
local lifetime = tonumber(ARGV[4])
if lifetime > 0 then
  local now = now_ms()
  redis.call('ZADD', KEYS[3], 'NX', now, ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[1], (now + lifetime) .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
  if redis.call('PTTL', KEYS[3]) < lifetime then
    redis.call('PEXPIRE', KEYS[3], lifetime)
    redis.call('PEXPIRE', KEYS[4], lifetime)
  end
end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then pttl = 0 end
return -pttl`;

/**
 * KEYS[1] owner, KEYS[2] fence. ARGV[1] token, ARGV[2] TTL ms.
 * The first attempt of an acquisition, and every Redlock round: the fast path of acquire alone, two
 * keys, nothing queued. Returns the fencing token (the block's last) when the caller now holds the
 * lock, else minus the holder's remaining TTL (<= 0).
 */
const TAKE_LUA = `-- KEYS[1] owner, KEYS[2] fence; ARGV[1] token, ARGV[2] ttl ms
-- returns the fencing token when the caller now holds the lock, else minus the holder's remaining ttl
${NEXT_FENCE}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return next_fence(KEYS[2], ${FENCE_BLOCK}, ARGV[2])
end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then pttl = 0 end
return -pttl`;

/**
 * KEYS as for acquire. ARGV[1] token.
 * Returns 1 when the caller held the lock: it is now free, or handed to the oldest live waiter.
 * Returns 0 (and changes nothing but the caller's own queue entry) when it did not: a stale token
 * can never free another holder's lock.
 */
const RELEASE_LUA = `-- KEYS[1] owner, KEYS[2] fence, KEYS[3] queue, KEYS[4] waiters
-- ARGV[1] token; returns 1 if the caller held the lock (now released or handed over), else 0
${NOW_MS}
${NEXT_FENCE}
${GRANT_HEAD}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  -- not (or no longer) ours: at most leave the queue
  if redis.call('HDEL', KEYS[4], ARGV[1]) == 1 then redis.call('ZREM', KEYS[3], ARGV[1]) end
  return 0
end
if grant_head(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1]) then
  return 1
end
redis.call('DEL', KEYS[1])
return 1`;

/**
 * KEYS[1] owner, KEYS[2] queue. ARGV[1] token.
 * The release of a lock its holder got on its first attempt (nobody waited for it then): when the
 * caller holds it and still nobody waits, deletes it and returns 1. Otherwise changes nothing and
 * returns 2, and the caller runs RELEASE_LUA, which decides (hands the lock to the oldest waiter, or
 * finds it is no longer the caller's and at most leaves the queue). The common release, two keys
 * instead of four: less to send, to parse and to look up.
 */
const RELEASE_UNCONTENDED_LUA = `-- KEYS[1] owner, KEYS[2] queue; ARGV[1] token
-- returns 1 if the caller held the lock and nobody waited (it is now free), else 2 (nothing changed: run the release script)
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
return 2`;

/** KEYS[1] owner. ARGV[1] token, ARGV[2] new TTL ms. Returns 1 when extended, 0 when not the holder. */
const EXTEND_LUA = `-- KEYS[1] owner; ARGV[1] token, ARGV[2] ttl ms
-- returns 1 when the caller still held the lock and its TTL is now ARGV[2], else 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/**
 * The first attempts of one event-loop turn, as one call (see LockBatcher). KEYS: owner, fence of
 * each take in turn (2 per take). ARGV[1]: the TTL ms every take of the batch asks for, or '' when
 * they differ; then the token of each take, followed by its TTL ms when ARGV[1] is '' (mostly one
 * TTL serves the whole batch: one argument fewer per take to send and parse).
 * Returns one reply per take, in order, each exactly what TAKE_LUA returns for it alone: takes run one
 * after the other, so two takes of one resource in a batch behave as two calls in that order. The
 * server's clock is read once, at the first take that gets its lock (see next_fence_at).
 */
const TAKE_BATCH_LUA = `-- KEYS: owner, fence per take
-- ARGV[1]: ttl ms of every take, or '' when they differ; then per take: token (and its ttl ms when ARGV[1] is '')
-- returns per take: the fencing token when the caller now holds the lock, else minus the holder's remaining ttl
${NEXT_FENCE}
local shared = ARGV[1] ~= ''
local now
local out = {}
local a = 2
for i = 1, #KEYS, 2 do
  local token, ttl = ARGV[a], ARGV[1]
  if shared then a = a + 1 else ttl = ARGV[a + 1]; a = a + 2 end
  local reply
  if redis.call('SET', KEYS[i], token, 'NX', 'PX', ttl) then
    if not now then
      local t = redis.call('TIME')
      now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    end
    reply = next_fence_at(KEYS[i + 1], ${FENCE_BLOCK}, ttl, now)
  else
    reply = redis.call('PTTL', KEYS[i])
    if reply < 0 then reply = 0 end
    reply = -reply
  end
  out[#out + 1] = reply
end
return out`;

/**
 * The releases of one event-loop turn, as one call (see LockBatcher). KEYS: owner, fence, queue,
 * waiters of each release in turn (4 per release). ARGV: the token of each release.
 * Returns one reply per release, in order, each exactly what RELEASE_LUA returns for it alone.
 */
const RELEASE_BATCH_LUA = `-- KEYS: owner, fence, queue, waiters per release; ARGV: token per release
-- returns per release: 1 if the caller held the lock (now released or handed over), else 0
${NOW_MS}
${NEXT_FENCE}
${GRANT_HEAD}
local out = {}
for i = 1, #ARGV do
  local k = (i - 1) * 4
  local o, q, w, token = KEYS[k + 1], KEYS[k + 3], KEYS[k + 4], ARGV[i]
  if redis.call('GET', o) ~= token then
    if redis.call('HDEL', w, token) == 1 then redis.call('ZREM', q, token) end
    out[i] = 0
  else
    if not grant_head(o, KEYS[k + 2], q, w, token) then
      redis.call('DEL', o)
    end
    out[i] = 1
  end
end
return out`;

/**
 * The uncontended releases of one event-loop turn, as one call (see LockBatcher). KEYS: owner, queue
 * of each release in turn (2 per release). ARGV: the token of each release.
 * Returns one reply per release, in order, each exactly what RELEASE_UNCONTENDED_LUA returns for it alone.
 */
const RELEASE_UNCONTENDED_BATCH_LUA = `-- KEYS: owner, queue per release; ARGV: token per release
-- returns per release: 1 if the caller held the lock and nobody waited (now free), else 2 (nothing changed)
local out = {}
for i = 1, #ARGV do
  local o = KEYS[i * 2 - 1]
  if redis.call('GET', o) == ARGV[i] and redis.call('EXISTS', KEYS[i * 2]) == 0 then
    redis.call('DEL', o)
    out[i] = 1
  else
    out[i] = 2
  end
end
return out`;

/**
 * Tokens a renewal reserves. A busy batch uses hundreds in a round trip; tokens left unused when the
 * batch ends are simply skipped (tokens increase, they need not be consecutive).
 */
export const RENEW_BLOCK = 64 * FENCE_BLOCK;

/**
 * KEYS[1] owner, KEYS[2] fence, KEYS[3] queue. ARGV[1] token, ARGV[2] TTL ms.
 * In-process hand-over only: while the caller still holds the lock and no other process waits for
 * it, resets its TTL and reserves the next block of fencing tokens (returns the block's last token;
 * every token from the caller's block's end to it is the caller's, since nobody else could take the
 * lock meanwhile).
 * Returns 0 when the caller no longer holds it, -1 when others wait (the caller's batch must end).
 */
const RENEW_LUA = `-- KEYS[1] owner, KEYS[2] fence, KEYS[3] queue; ARGV[1] token, ARGV[2] ttl ms
-- returns the last token of a newly reserved block, 0 when not the holder, -1 when others wait
${NEXT_FENCE}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return next_fence(KEYS[2], ${RENEW_BLOCK}, ARGV[2])`;

/**
 * Redlock only. KEYS[1] owner, KEYS[2] fence. ARGV[1] token, ARGV[2] fence, ARGV[3] TTL ms.
 * Raises the server's counter to the fence the quorum handed out, while the caller still holds the
 * lock there, so that the next holder's quorum (which shares a server with this one) counts past it.
 * The raised counter lives as next_fence's would (longer while it runs ahead of this server's clock).
 * Returns 1 when the caller holds the lock here, else 0.
 */
const RAISE_FENCE_LUA = `-- KEYS[1] owner, KEYS[2] fence; ARGV[1] token, ARGV[2] fence, ARGV[3] ttl ms
-- returns 1 when the caller holds the lock and the counter is now at least ARGV[2], else 0
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[2]) then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local ahead = math.max(0, math.ceil((tonumber(ARGV[2]) - now) / 1000))
  redis.call('SET', KEYS[2], ARGV[2], 'PX', tonumber(ARGV[3]) + ahead + ${FENCE_GRACE_MS})
end
return 1`;

export const acquireScript = defineScript<
  [token: string, ttlMs: number, channel: string, queueEntryMs: number, retry: '0' | '1'],
  number
>({ name: 'lock_acquire', numberOfKeys: 4, lua: ACQUIRE_LUA });

export const takeScript = defineScript<[token: string, ttlMs: number], number>({
  name: 'lock_take',
  numberOfKeys: 2,
  lua: TAKE_LUA,
});

export const releaseScript = defineScript<[token: string], number>({
  name: 'lock_release',
  numberOfKeys: 4,
  lua: RELEASE_LUA,
});

export const releaseUncontendedScript = defineScript<[token: string], number>({
  name: 'lock_release_uncontended',
  numberOfKeys: 2,
  lua: RELEASE_UNCONTENDED_LUA,
});

export const extendScript = defineScript<[token: string, ttlMs: number], number>({
  name: 'lock_extend',
  numberOfKeys: 1,
  lua: EXTEND_LUA,
});

export const renewScript = defineScript<[token: string, ttlMs: number], number>({
  name: 'lock_renew',
  numberOfKeys: 3,
  lua: RENEW_LUA,
});

export const raiseFenceScript = defineScript<[token: string, fence: number, ttlMs: number], number>({
  name: 'lock_raise_fence',
  numberOfKeys: 2,
  lua: RAISE_FENCE_LUA,
});

/** Two keys per resource, as many resources as the batch holds; the TTL once, or per take. */
export const takeBatchScript = defineScript<(string | number)[], number[]>({
  name: 'lock_take_batch',
  numberOfKeys: 'variable',
  lua: TAKE_BATCH_LUA,
});

/** Four keys per resource, as many resources as the batch holds. */
export const releaseBatchScript = defineScript<string[], number[]>({
  name: 'lock_release_batch',
  numberOfKeys: 'variable',
  lua: RELEASE_BATCH_LUA,
});

/** Two keys per release (owner, queue), as many releases as the batch holds. */
export const releaseUncontendedBatchScript = defineScript<string[], number[]>({
  name: 'lock_release_uncontended_batch',
  numberOfKeys: 'variable',
  lua: RELEASE_UNCONTENDED_BATCH_LUA,
});
