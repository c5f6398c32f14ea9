// A Redis ThrottlerStorage for @nestjs/throttler, written for this benchmark only.
//
// @nest-lab/throttler-storage-redis (the storage the throttler docs point to) cannot be installed
// beside Nest 12, so this file mirrors its design: one Lua script per request that INCRs a hit
// counter with a PEXPIRE on its first hit (a fixed window of `ttl`), and sets a block key for
// `blockDuration` once the count passes the limit. It answers the ThrottlerStorageRecord that
// ThrottlerGuard reads (totalHits, timeToExpire, isBlocked, timeToBlockExpire).
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';

const INCREMENT_LUA = `-- KEYS[1] hit counter, KEYS[2] block flag; ARGV[1] ttl ms, ARGV[2] limit, ARGV[3] block ms
-- returns { totalHits, timeToExpire ms, isBlocked 1|0, timeToBlockExpire ms }
local hits = redis.call('INCR', KEYS[1])
local expire = redis.call('PTTL', KEYS[1])
if expire <= 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  expire = tonumber(ARGV[1])
end
local blocked = redis.call('GET', KEYS[2])
local blockExpire = 0
if blocked then
  blockExpire = redis.call('PTTL', KEYS[2])
elseif hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], 1, 'PX', ARGV[3])
  blocked = '1'
  blockExpire = tonumber(ARGV[3])
end
if blocked and blockExpire <= 0 then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[1])
  hits = 1
  expire = tonumber(ARGV[1])
  blocked = false
end
return { hits, expire, blocked and 1 or 0, blockExpire }
`;

type IncrementReply = [number, number, number, number];

interface ThrottlerRedis extends Redis {
  throttlerIncrement(
    hitKey: string,
    blockKey: string,
    ttl: number,
    limit: number,
    block: number,
  ): Promise<IncrementReply>;
}

export class BenchThrottlerRedisStorage implements ThrottlerStorage {
  private readonly redis: ThrottlerRedis;

  constructor(redis: Redis) {
    // ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT.
    redis.defineCommand('throttlerIncrement', { numberOfKeys: 2, lua: INCREMENT_LUA });
    this.redis = redis as ThrottlerRedis;
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string) {
    const hitKey = `{${key}:${throttlerName}}:hits`;
    const blockKey = `{${key}:${throttlerName}}:blocked`;
    const [totalHits, timeToExpire, isBlocked, timeToBlockExpire] = await this.redis.throttlerIncrement(
      hitKey,
      blockKey,
      ttl,
      limit,
      blockDuration,
    );
    return {
      totalHits,
      timeToExpire: Math.ceil(timeToExpire / 1000),
      isBlocked: isBlocked === 1,
      timeToBlockExpire: Math.ceil(timeToBlockExpire / 1000),
    };
  }
}
