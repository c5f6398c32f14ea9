import { defineScript } from '@redkit/redis';

import { FENCE_GRACE_MS, NEXT_FENCE } from './fence.lua.js';
import { NOW_MS } from './lock-scripts.js';

/**
 * The Lua behind `ReadWriteLock`. All four keys share the lock's name as hash tag:
 *
 * - `writer`: the writer's lease id (`SET NX PX`);
 * - `readers`: ZSET reader lease id -> lease end (server milliseconds);
 * - `waiting`: ZSET waiting writer id -> until when it counts as waiting (server milliseconds; each
 *   attempt renews it). While it has a live entry no new reader is admitted: writer preference, so a
 *   stream of readers delays a writer by one reader lease at most;
 * - `fence`: the fencing counter (next_fence), one token per grant, readers' and writers' alike.
 *
 * `readers` and `waiting` expire a second after their last entry ends; `writer` with its lease.
 */
const RW_LIB = `${NOW_MS}
${NEXT_FENCE}
local writer, readers, waiting, fence = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', readers, '-inf', now)
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)

-- Keeps a ZSET alive until a second after its last entry ends (scores are end times).
local function touch(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]
  if last then redis.call('PEXPIRE', key, tonumber(last) - now + ${FENCE_GRACE_MS}) end
end
`;

/**
 * KEYS: writer, readers, waiting, fence. ARGV[1] lease id, ARGV[2] TTL ms.
 * Returns the fencing token when the caller now reads for ARGV[2] ms, else minus the milliseconds
 * until what keeps it out may end (the writer's lease, or 0 when writers wait).
 */
const READ_LUA = `-- KEYS: writer, readers, waiting, fence; ARGV[1] id, ARGV[2] ttl ms
-- returns the fencing token when the caller now holds a read lease, else minus a wait hint in ms
${RW_LIB}
local pttl = redis.call('PTTL', writer)
if pttl > 0 then return -pttl end
if redis.call('ZCARD', waiting) > 0 then return 0 end
redis.call('ZADD', readers, now + tonumber(ARGV[2]), ARGV[1])
touch(readers)
return next_fence(fence, 1, ARGV[2])`;

/**
 * KEYS: writer, readers, waiting, fence. ARGV[1] lease id, ARGV[2] TTL ms, ARGV[3] how long the
 * caller counts as waiting if it must wait (ms; 0: a single attempt, it does not hold readers back).
 * Returns the fencing token when the caller now writes for ARGV[2] ms, else minus the milliseconds
 * until the lease that keeps it out ends.
 */
const WRITE_LUA = `-- KEYS: writer, readers, waiting, fence; ARGV[1] id, ARGV[2] ttl ms, ARGV[3] waiting entry ms
-- returns the fencing token when the caller now holds the write lease, else minus a wait hint in ms
${RW_LIB}
local id, ttl, lifetime = ARGV[1], ARGV[2], tonumber(ARGV[3])
local hint
local pttl = redis.call('PTTL', writer)
if pttl > 0 then
  hint = pttl
else
  local first = redis.call('ZRANGE', readers, 0, 0, 'WITHSCORES')[2]
  if first then hint = tonumber(first) - now end
end
if hint then
  if lifetime > 0 then
    redis.call('ZADD', waiting, now + lifetime, id)
    touch(waiting)
  end
  return -hint
end
redis.call('SET', writer, id, 'PX', ttl)
redis.call('ZREM', waiting, id)
touch(waiting)
return next_fence(fence, 1, ttl)`;

/**
 * KEYS: writer, readers, waiting, fence. ARGV[1] lease id, ARGV[2] 'read' or 'write'.
 * Returns 1 when the caller held that lease (now given up), else 0 (it only stops waiting).
 */
const RELEASE_LUA = `-- KEYS: writer, readers, waiting, fence; ARGV[1] id, ARGV[2] 'read'|'write'
-- returns 1 when the caller held the lease (now released), else 0
${RW_LIB}
local released = 0
if ARGV[2] == 'read' then
  released = redis.call('ZREM', readers, ARGV[1])
  touch(readers)
else
  if redis.call('GET', writer) == ARGV[1] then
    redis.call('DEL', writer)
    released = 1
  end
  redis.call('ZREM', waiting, ARGV[1])
  touch(waiting)
end
return released`;

/**
 * KEYS: writer, readers, waiting, fence. ARGV[1] lease id, ARGV[2] 'read' or 'write', ARGV[3] TTL ms.
 * Returns 1 when the caller still held that lease (it now ends ARGV[3] ms from now), else 0: an
 * ended lease is never granted back.
 */
const EXTEND_LUA = `-- KEYS: writer, readers, waiting, fence; ARGV[1] id, ARGV[2] 'read'|'write', ARGV[3] ttl ms
-- returns 1 when the caller still held the lease and it now ends in ARGV[3] ms, else 0
${RW_LIB}
if ARGV[2] == 'read' then
  if not redis.call('ZSCORE', readers, ARGV[1]) then return 0 end
  redis.call('ZADD', readers, 'XX', now + tonumber(ARGV[3]), ARGV[1])
  touch(readers)
  return 1
end
if redis.call('GET', writer) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', writer, ARGV[3])
return 1`;

export type ReadWriteMode = 'read' | 'write';

export const readAcquireScript = defineScript<[id: string, ttlMs: number], number>({
  name: 'rwlock_read',
  numberOfKeys: 4,
  lua: READ_LUA,
});

export const writeAcquireScript = defineScript<[id: string, ttlMs: number, waitingMs: number], number>({
  name: 'rwlock_write',
  numberOfKeys: 4,
  lua: WRITE_LUA,
});

export const readWriteReleaseScript = defineScript<[id: string, mode: ReadWriteMode], number>({
  name: 'rwlock_release',
  numberOfKeys: 4,
  lua: RELEASE_LUA,
});

export const readWriteExtendScript = defineScript<[id: string, mode: ReadWriteMode, ttlMs: number], number>({
  name: 'rwlock_extend',
  numberOfKeys: 4,
  lua: EXTEND_LUA,
});
