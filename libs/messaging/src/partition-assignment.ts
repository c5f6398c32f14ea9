import type { RedisKeyspace } from '@redkit/redis';
import { defineScript } from '@redkit/redis';

/**
 * What {@link SYNC_PARTITIONS} answers a member: `ok` with the partitions it holds, or `mismatch`
 * when live members use another partition count (then it holds nothing and is not counted).
 */
export type PartitionSyncReply = [
  status: 'ok' | 'mismatch',
  /** Partitions whose lease it holds (renewed or just taken) and should consume. */
  run: number[],
  /** Partitions whose lease it holds (renewed) but should hand over: stop consuming, then release. */
  surrender: number[],
  /** Of `run`, those it took now from a lease that had run out (its holder died or stalled). */
  expired: number[],
  /** Live members, this one included. */
  members: number,
  /** The partition count the members use (differs from the caller's on `mismatch`). */
  partitions: number,
];

/**
 * One heartbeat of a member of a partitioned stream's group, atomically: it renews its membership,
 * releases what it asked to release, computes who should own each partition and renews or takes the
 * leases of its own share. Everything runs on the Redis server's clock (TIME), so the members' clocks
 * never matter. Both keys share the hash tag `{<stream name>}`.
 *
 * The assignment is balanced and sticky: each live member (sorted by id) gets `floor(N / M)` or one
 * more partitions; a partition stays with the live member holding its lease while that member is
 * within its share, and the others go, lowest first, to the members below their share. So a member
 * joining or leaving moves only the partitions it must, not every `i mod M`. A partition assigned to
 * a member is taken only once its lease is free (released, or run out).
 */
export const SYNC_PARTITIONS = defineScript<
  [member: string, leaseMs: number, partitions: number, leaving: 0 | 1, ...release: number[]],
  PartitionSyncReply
>({
  name: 'messaging_sync_partitions',
  numberOfKeys: 2,
  lua: `-- KEYS[1] members: sorted set, member id -> membership expiry (server ms)
-- KEYS[2] leases: hash, partition index -> "<expiry ms> <holder>", plus "partitions" -> the count N
-- (both under the tag {<stream name>}; each expires with the last membership or lease it holds)
-- ARGV[1] the member, ARGV[2] leaseMs, ARGV[3] N, ARGV[4] 1 when leaving (release all, leave),
-- ARGV[5..] partitions it releases (it stopped consuming them)
-- returns { status, run, surrender, expired, members, N }:
--   status 'ok', or 'mismatch' when other live members use another N (nothing is held nor renewed);
--   run: partitions it holds and should consume; surrender: partitions it holds (lease renewed) but
--   must hand over; expired: of run, those taken now from a run-out lease; members: live members
local me = ARGV[1]
local leaseMs = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expiry = string.format('%d', now + leaseMs)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)

local held = {}
local flat = redis.call('HGETALL', KEYS[2])
local recorded = nil
for index = 1, #flat, 2 do
  local field, value = flat[index], flat[index + 1]
  if field == 'partitions' then
    recorded = tonumber(value)
  else
    local space = string.find(value, ' ', 1, true)
    held[tonumber(field)] = { until_ = tonumber(string.sub(value, 1, space - 1)), holder = string.sub(value, space + 1) }
  end
end

local function release(partition)
  local lease = held[partition]
  if lease and lease.holder == me then
    redis.call('HDEL', KEYS[2], tostring(partition))
    held[partition] = nil
  end
end
for index = 5, #ARGV do release(tonumber(ARGV[index])) end

if ARGV[4] == '1' then
  for partition, _ in pairs(held) do release(partition) end
  redis.call('ZREM', KEYS[1], me)
  return { 'ok', {}, {}, {}, #redis.call('ZRANGE', KEYS[1], 0, -1), count }
end

if recorded and recorded ~= count then
  local others = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if member ~= me then others = others + 1 end
  end
  if others > 0 then return { 'mismatch', {}, {}, {}, others, recorded } end
  -- The last member of the old count is gone: its leases beyond the new count are dropped.
  for partition, _ in pairs(held) do
    if partition >= count then
      redis.call('HDEL', KEYS[2], tostring(partition))
      held[partition] = nil
    end
  end
end

redis.call('ZADD', KEYS[1], expiry, me)
-- The key outlives its longest membership (a member may use a longer leaseMs), and no more.
redis.call('PEXPIREAT', KEYS[1], redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(members)
local share, kept = {}, {}
local base, extra = math.floor(count / #members), count % #members
for rank, member in ipairs(members) do
  share[member] = base + ((rank <= extra) and 1 or 0)
  kept[member] = 0
end

local owner = {}
for partition = 0, count - 1 do
  local lease = held[partition]
  if lease and lease.until_ > now and share[lease.holder] and kept[lease.holder] < share[lease.holder] then
    owner[partition] = lease.holder
    kept[lease.holder] = kept[lease.holder] + 1
  end
end
local rank = 1
for partition = 0, count - 1 do
  if not owner[partition] then
    while kept[members[rank]] >= share[members[rank]] do rank = rank + 1 end
    owner[partition] = members[rank]
    kept[members[rank]] = kept[members[rank]] + 1
  end
end

local run, surrender, expired = {}, {}, {}
local latest = now + leaseMs
for partition = 0, count - 1 do
  local lease = held[partition]
  local live = lease and lease.until_ > now
  if owner[partition] == me then
    if not live or lease.holder == me then
      redis.call('HSET', KEYS[2], tostring(partition), expiry .. ' ' .. me)
      run[#run + 1] = partition
      if lease and lease.holder ~= me then expired[#expired + 1] = partition end
    elseif lease.until_ > latest then
      latest = lease.until_
    end
  elseif live and lease.holder == me then
    redis.call('HSET', KEYS[2], tostring(partition), expiry .. ' ' .. me)
    surrender[#surrender + 1] = partition
  elseif live and lease.until_ > latest then
    latest = lease.until_
  end
end
redis.call('HSET', KEYS[2], 'partitions', count)
-- Never before a live lease runs out: another member may hold a longer one.
redis.call('PEXPIREAT', KEYS[2], string.format('%d', latest))
return { 'ok', run, surrender, expired, #members, count }
`,
});

/**
 * Keys of a partitioned stream's group membership: `<prefix>:messaging:{<name>}:partitions:<group>:members`
 * and `...:leases`. Tagged with the stream's name (not a partition's), so one script keeps both.
 */
export function partitionKeys(
  keyspace: RedisKeyspace,
  name: string,
  group: string,
): { members: string; leases: string } {
  return {
    members: keyspace.tagged(name, 'partitions', group, 'members'),
    leases: keyspace.tagged(name, 'partitions', group, 'leases'),
  };
}
