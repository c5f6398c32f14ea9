import { defineScript } from '@redkit/redis';

import { NEXT_FENCE } from './fence.lua.js';
import { NOW_MS } from './lock-scripts.js';

/**
 * The Lua behind `LeaderElector`. Two keys share the election's name as hash tag:
 *
 * - `lease`: `"<term> <instance>"` with the lease's TTL: who leads, and in which term;
 * - `fence`: the term counter (next_fence): every new term is larger than every term before it,
 *   across any gap, so a term doubles as a fencing token.
 *
 * The leader is recognised by the whole value, term and instance, never by the key's presence: a
 * renewal that finds another value (or none) has lost, and does not take the lease back.
 */

/**
 * KEYS[1] lease, KEYS[2] fence. ARGV[1] instance, ARGV[2] lease ms.
 * Returns {term, server ms} when the caller now leads in a new term, else {0, the lease's value or
 * '', its remaining ms}.
 */
const CAMPAIGN_LUA = `-- KEYS[1] lease, KEYS[2] fence; ARGV[1] instance, ARGV[2] lease ms
-- returns {term, server ms} when the caller now leads, else {0, current value or '', its pttl}
${NOW_MS}
${NEXT_FENCE}
local current = redis.call('GET', KEYS[1])
if current then return {0, current, redis.call('PTTL', KEYS[1])} end
local term = next_fence(KEYS[2], 1, ARGV[2])
redis.call('SET', KEYS[1], string.format('%.0f', term) .. ' ' .. ARGV[1], 'PX', ARGV[2])
return {string.format('%.0f', term), now_ms()}`;

/**
 * KEYS[1] lease. ARGV[1] the leader's value ("<term> <instance>"), ARGV[2] lease ms.
 * Returns the server's milliseconds when the lease was the caller's and now runs ARGV[2] ms from
 * now, else 0.
 */
const RENEW_LUA = `-- KEYS[1] lease; ARGV[1] "<term> <instance>", ARGV[2] lease ms
-- returns the server ms when the caller still led and its lease now ends ARGV[2] ms later, else 0
${NOW_MS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return now_ms()`;

/**
 * KEYS[1] lease. ARGV[1] the leader's value, ARGV[2] the channel to announce the vacancy on.
 * Returns the server's milliseconds when the caller led and the lease is now gone (and the vacancy
 * announced), else 0.
 */
const RESIGN_LUA = `-- KEYS[1] lease; ARGV[1] "<term> <instance>", ARGV[2] vacancy channel
-- returns the server ms when the caller led and has now resigned, else 0
${NOW_MS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return now_ms()`;

export const campaignScript = defineScript<
  [instance: string, leaseMs: number],
  [term: string | number, value: string | number, pttl?: number]
>({ name: 'leader_campaign', numberOfKeys: 2, lua: CAMPAIGN_LUA });

export const renewLeaseScript = defineScript<[value: string, leaseMs: number], number>({
  name: 'leader_renew',
  numberOfKeys: 1,
  lua: RENEW_LUA,
});

export const resignScript = defineScript<[value: string, channel: string], number>({
  name: 'leader_resign',
  numberOfKeys: 1,
  lua: RESIGN_LUA,
});
