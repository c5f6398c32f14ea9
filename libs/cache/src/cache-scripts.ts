import { defineScript } from '@redkit/redis';

/** Adds a key to a tag's index set and keeps the set alive at least as long as that key. */
export const addToTagScript = defineScript<[member: string, ttlMs: number], number>({
  name: 'cache_tag_add',
  numberOfKeys: 1,
  lua: `-- KEYS[1] the tag's index set
-- ARGV[1] the cache key to add, ARGV[2] how long that key lives (ms)
-- returns 1 when the key was new in the set, else 0
local added = redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return added`,
});

// Distributed single-flight. The lease lives in the entry's own key (see cache-entry.ts for the
// format): taking it on an empty key and ending it with the stored value are plain commands (SET NX
// GET, SET GET), so only the rarer steps below need a script, and every step touches one key.

/**
 * `SET <key> <mark> PX <leaseMs> NX GET` for each key of one event-loop turn's distributed
 * single-flight reads, in one command: what an MGET is to plain reads. Each key is read, and leased
 * when empty, on its own (a batch is not all-or-nothing). On a Cluster every call has one key (cache
 * keys of one batch do not share a slot); on a standalone server the keys of a batch need not.
 */
export const readOrLeaseManyScript = defineScript<string[], Array<string | null>>({
  name: 'cache_read_or_lease_many',
  numberOfKeys: 'variable',
  lua: `-- KEYS[i] an entry's key
-- ARGV[1] this instance's lease mark ('~<token>'), ARGV[1 + i] the lease's length for KEYS[i] (ms)
-- returns, for each key, what SET NX GET returned: its text, or nil where this call took the lease
local texts = {}
for i, key in ipairs(KEYS) do
  texts[i] = redis.call('SET', key, ARGV[1], 'PX', ARGV[i + 1], 'NX', 'GET')
end
return texts`,
});

/** What {@link claimLeaseScript} found: the entry can be served, this caller leads, or another does. */
export const LEASE_SERVABLE = 0;
export const LEASE_TAKEN = 1;
export const LEASE_BUSY = 2;
export type LeaseState = typeof LEASE_SERVABLE | typeof LEASE_TAKEN | typeof LEASE_BUSY;

/**
 * The step after a `SET NX GET` found something it cannot serve: another instance's lease (marked
 * as waited on, so its holder announces the landing), an expired lease over an entry (taken over),
 * or an entry to reload (leased with the entry kept readable). Freshness is judged the way the cache
 * judges it after a read: against the caller's clock, from the deadlines at the start of the entry.
 */
export const claimLeaseScript = defineScript<
  [token: string, leaseMs: number, nowMs: number, servesStale: '1' | '0'],
  [entry: string | null, state: LeaseState]
>({
  name: 'cache_lease_claim',
  numberOfKeys: 1,
  lua: `-- KEYS[1] the entry's key: an entry, a lease '~<token>[+]', or both '~<token>[+]|<until>|<entry>'
-- ARGV[1] this instance's lease token, ARGV[2] the lease's length (ms), ARGV[3] the caller's clock
-- (epoch ms), ARGV[4] '1' when an entry in grace is served as it is, '0' when it is reloaded
-- returns {entry or nil, state}: state 0 the entry can be served, 1 this caller holds the lease now,
-- 2 another instance holds it (now marked as waited on)
local text = redis.call('GET', KEYS[1])
if not text then
  redis.call('SET', KEYS[1], '~' .. ARGV[1], 'PX', ARGV[2])
  return {false, 1}
end
local time = redis.call('TIME')
local serverNow = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local holder, leaseUntil, entry = nil, nil, text
if string.sub(text, 1, 1) == '~' then
  local first = string.find(text, '|', 2, true)
  local second = first and string.find(text, '|', first + 1, true)
  if second then
    holder = string.sub(text, 2, first - 1)
    leaseUntil = tonumber(string.sub(text, first + 1, second - 1)) or 0
    entry = string.sub(text, second + 1)
  else
    -- A lease on an empty key lasts as long as the key (its PX).
    holder = string.sub(text, 2)
    entry = nil
  end
end
if entry then
  local fresh, stale = string.match(entry, '^([^:]+):([^:]+):')
  fresh, stale = tonumber(fresh), tonumber(stale)
  local now = tonumber(ARGV[3])
  if fresh and stale and (fresh > now or (ARGV[4] == '1' and stale > now)) then
    return {entry, 0}
  end
end
if holder and (leaseUntil == nil or leaseUntil > serverNow) then
  if string.sub(holder, -1) ~= '+' then
    redis.call('SET', KEYS[1], '~' .. holder .. '+' .. string.sub(text, #holder + 2), 'KEEPTTL')
  end
  return {entry or false, 2}
end
-- An entry with no live lease: lease it, the entry readable meanwhile, for as long as the key lives.
-- Waiters of an expired lease taken over still wait: keep their mark.
local mark = (holder and string.sub(holder, -1) == '+') and '+' or ''
local leaseUntilNow = serverNow + tonumber(ARGV[2])
redis.call('SET', KEYS[1], '~' .. ARGV[1] .. mark .. '|' .. leaseUntilNow .. '|' .. entry, 'KEEPTTL')
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {entry, 1}`,
});

/**
 * Ends this instance's lease without a value (the loader failed, or its value is not stored): an
 * entry it was reloading is left as it was, a bare lease is deleted. The end is announced when a
 * waiter marked the lease, or when the lease is no longer this instance's (someone may wait on what
 * replaced it), so waiters load themselves at once rather than after their waitMs. With no channel
 * (sharded pub/sub: a script may not SPUBLISH to a channel another master owns) the caller announces
 * it when the script returns 0 or 2.
 */
export const releaseLeaseScript = defineScript<[token: string, landingChannel: string], number>({
  name: 'cache_lease_release',
  numberOfKeys: 1,
  lua: `-- KEYS[1] the entry's key, holding this instance's lease '~<token>[+]' or '~<token>[+]|<until>|<entry>'
-- ARGV[1] the token this instance leased with, ARGV[2] the landing channel (KEYS[1] is published on it), or '' to announce nothing
-- returns 1 when this instance's lease was ended, 2 when it was ended and a waiter marked it, 0 when it
-- was gone or another's: 0 and 2 are announced
local text = redis.call('GET', KEYS[1])
local mine = '~' .. ARGV[1]
local rest = text and string.sub(text, 1, #mine) == mine and string.sub(text, #mine + 1)
local waited = rest and string.sub(rest, 1, 1) == '+'
if waited then
  rest = string.sub(rest, 2)
end
if rest == '' then
  redis.call('DEL', KEYS[1])
elseif rest and string.sub(rest, 1, 1) == '|' and string.find(rest, '|', 2, true) then
  redis.call('SET', KEYS[1], string.sub(rest, string.find(rest, '|', 2, true) + 1), 'KEEPTTL')
else
  if ARGV[2] ~= '' then
    redis.call('PUBLISH', ARGV[2], KEYS[1])
  end
  return 0
end
if waited then
  if ARGV[2] ~= '' then
    redis.call('PUBLISH', ARGV[2], KEYS[1])
  end
  return 2
end
return 1`,
});
