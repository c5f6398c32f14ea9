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

/** Frees a distributed single-flight lease only if this instance still holds it. */
export const releaseLeaseScript = defineScript<[token: string], number>({
  name: 'cache_lease_release',
  numberOfKeys: 1,
  lua: `-- KEYS[1] the lease key
-- ARGV[1] the token this instance set it to
-- returns 1 when released, 0 when the lease had expired or belongs to another instance
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`,
});
