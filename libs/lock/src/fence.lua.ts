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
 * The value is written and published with string.format: Lua's tostring would round it.
 */
export const NEXT_FENCE = `
local function next_fence(f, block, ttl)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = redis.call('GET', f)
  local fence
  if last then fence = tonumber(last) + block else fence = now end
  local ahead = 0
  if fence > now then ahead = math.ceil((fence - now) / 1000) end
  redis.call('SET', f, string.format('%.0f', fence), 'PX', tonumber(ttl) + ahead + ${FENCE_GRACE_MS})
  return fence
end
`;
