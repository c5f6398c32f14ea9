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
 * Tokens strictly increase per resource, and the counter does not outlive its use. The next block
 * ends at the larger of the counter plus the block and the server's clock in microseconds (`TIME`):
 * every token is at least the clock when it was issued, and above every token issued before it
 * while the counter lived. So a counter that is gone (expired, evicted) or stale (a replica promoted
 * before the newest blocks reached it, a failover that lost the last writes) still issues tokens
 * above every earlier one, as long as the clock of the server that issues them has passed the
 * earlier ones: Redis's wall clock does not step back, across a failover included, by more than
 * the time since the last block was issued (plus the counter's life while a resource rests). The
 * counter only runs ahead of the clock at more than a million tokens a second (in-process
 * hand-overs); then its expiry is pushed back until the clock has caught up.
 *
 * `next_fence_at(f, block, ttl, now)` takes the clock from its caller (microseconds, from `TIME`),
 * so that a script issuing many blocks (a batch) reads it once: a clock read earlier in the same
 * script is at most the current one, and the counter still grows by at least the block.
 * `next_fence(f, block, ttl)` reads the clock itself.
 *
 * INCRBY first: a live counter that ran ahead of the clock only needs its expiry pushed back
 * (PEXPIRE); otherwise the counter is set to the clock (SET ... PX), INCRBY on a missing counter
 * having counted from 0. Counters are always written as integers (string.format: Lua's tostring
 * would round them), which INCRBY accepts.
 */
export const NEXT_FENCE = `
local function next_fence_at(f, block, ttl, now)
  local fence = redis.call('INCRBY', f, block)
  if fence < now then
    redis.call('SET', f, string.format('%.0f', now), 'PX', tonumber(ttl) + ${FENCE_GRACE_MS})
    return now
  end
  redis.call('PEXPIRE', f, tonumber(ttl) + math.ceil((fence - now) / 1000) + ${FENCE_GRACE_MS})
  return fence
end
local function next_fence(f, block, ttl)
  local t = redis.call('TIME')
  return next_fence_at(f, block, ttl, tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
`;
