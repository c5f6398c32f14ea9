// The fencing-token counter shared by every coordination primitive of this lib (locks, semaphores,
// read-write locks, elections): one Lua function each script includes.

/**
 * Extra life of a fence counter past the lease it was issued with, so that a Redis clock stepped back
 * by up to the lease plus this still issues larger tokens once the counter is gone.
 */
export const FENCE_GRACE_MS = 1_000;

/**
 * Issues the next block of fencing tokens of one resource and returns the block's last token.
 *
 * Tokens strictly increase per resource, and the counter does not outlive its use: while it lives,
 * the next block follows it; once it expired (or `maxmemory` evicted it), the next block ends at the
 * server's clock in microseconds (`TIME`). That exceeds every token issued before because the counter
 * only ever lags the clock (it starts at the clock and grows by blocks, far fewer than a million a
 * second per resource), and when it does run ahead (an extreme rate of in-process hand-overs) its
 * expiry is pushed back until the clock has caught up. What it assumes of the clock: Redis's wall
 * clock does not step back by more than the counter's life (the lease + FENCE_GRACE_MS) while a
 * resource rests, including across a failover to a replica with another clock.
 *
 * `next_fence_at(f, block, ttl, now)` takes the clock from its caller (microseconds, from `TIME`),
 * so that a script issuing many blocks (a batch) reads it once: a clock read earlier in the same
 * script is at most the current one, which only starts a missing counter lower (still above every
 * earlier script's tokens) and keeps a counter that runs ahead alive longer. `next_fence(f, block,
 * ttl)` reads the clock itself.
 *
 * The common case, a live counter, is INCRBY and PEXPIRE (cheaper in Redis than GET, then SET with
 * the value formatted in Lua). INCRBY on a missing counter counts from 0 and answers exactly
 * `block`; the counter is then set to the clock instead (a live counter answering `block` held 0,
 * and the clock is above that too). Counters are always written as integers (string.format: Lua's
 * tostring would round them), which INCRBY accepts.
 */
export const NEXT_FENCE = `
local function next_fence_at(f, block, ttl, now)
  local fence = redis.call('INCRBY', f, block)
  if fence == block then
    fence = now
    redis.call('SET', f, string.format('%.0f', fence), 'PX', tonumber(ttl) + ${FENCE_GRACE_MS})
    return fence
  end
  local ahead = 0
  if fence > now then ahead = math.ceil((fence - now) / 1000) end
  redis.call('PEXPIRE', f, tonumber(ttl) + ahead + ${FENCE_GRACE_MS})
  return fence
end
local function next_fence(f, block, ttl)
  local t = redis.call('TIME')
  return next_fence_at(f, block, ttl, tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
`;
