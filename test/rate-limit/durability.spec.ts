// Issue 19: durable rate limits (`durability: { replicas, timeoutMs }`: every admission followed by
// WAIT) on a primary with one replica, and what a failover leaves of the admissions.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  RateLimiterService,
  RateLimitOptionsError,
  type RateLimitModuleOptions,
  type RateLimitRule,
} from '@redkit/rate-limit';
import { Redis } from 'ioredis';

import type { RedisServer } from '../harness/index.js';
import {
  admin,
  waitCalls,
  startReplicatedPair,
  stopReplicatedPair,
  rejectedOption,
  waitUntilNoReplica,
  replicatedPairPerTest,
} from '../harness/replication.js';
import { metricValue, openLimiter, uniquePrefix, type LimiterInstance } from './rate-limit-test-kit.js';

const DURABILITY = { replicas: 1, timeoutMs: 200 };
const DURABLE: RateLimitModuleOptions = { durability: DURABILITY };
/** The connection's own command timeout bounds durability.timeoutMs (at most half of it). */
const COMMAND_TIMEOUT_MS = 1_000;

/** The admissions a limit's key holds on `server`, whatever the key's algorithm. */
async function admissionsOn(client: Redis, key: string): Promise<number> {
  switch (await client.type(key)) {
    case 'string': // the packed log: 8 bytes per admitted unit
      return (await client.strlen(key)) / 8;
    case 'zset':
      return client.zcard(key);
    case 'hash':
      return Number(await client.hget(key, 'c'));
    default:
      return 0;
  }
}

function durabilityCount(instance: LimiterInstance, outcome: 'acknowledged' | 'unacknowledged') {
  return metricValue(instance.metrics, `redkit_ratelimit_durability_total{outcome="${outcome}"}`);
}

describe('durable rate limits on a primary with one replica', () => {
  const keyPrefix = uniquePrefix('durablelimit');
  const redis = () => ({ url: primary.url, keyPrefix, commandTimeoutMs: COMMAND_TIMEOUT_MS });
  let primary: RedisServer;
  let replica: RedisServer;
  let onPrimary: Redis;
  let onReplica: Redis;
  /** Coalesced checks (the default): the batcher's one-check and batch scripts. */
  let durable: LimiterInstance;
  /** `coalesce: false`: one script call per check. */
  let unbatched: LimiterInstance;
  let insured: LimiterInstance;
  let plain: LimiterInstance;

  beforeAll(async () => {
    ({ primary, replica, onPrimary, onReplica } = await startReplicatedPair());
    durable = await openLimiter(redis(), DURABLE);
    unbatched = await openLimiter(redis(), { ...DURABLE, coalesce: false });
    insured = await openLimiter(redis(), { ...DURABLE, insurance: true });
    plain = await openLimiter(redis());
  });

  afterAll(async () => {
    await Promise.all([durable, unbatched, insured, plain].map((instance) => instance?.close()));
    await stopReplicatedPair({ primary, replica, onPrimary, onReplica });
  });

  it('refuses durability options it cannot meet, naming durability.replicas and durability.timeoutMs', () => {
    const option = (options: RateLimitModuleOptions) =>
      rejectedOption(() => new RateLimiterService(durable.connection, options), RateLimitOptionsError);
    expect(option({ durability: { replicas: 0 } })).toBe('durability.replicas');
    expect(option({ durability: 1 as never })).toBe('durability');
    // Half the connection's commandTimeoutMs (1 000 ms here) at most.
    expect(option({ durability: { replicas: 1, timeoutMs: 501 } })).toBe('durability.timeoutMs');
    expect(option({ durability: { replicas: 1, timeoutMs: 500 } })).toBeUndefined();
  });

  describe('with the replica up', () => {
    const rules: RateLimitRule[] = [
      { name: 'packed', limit: 5, windowMs: 60_000 },
      { name: 'sorted', limit: 300, windowMs: 60_000 },
      { name: 'counter', limit: 5, windowMs: 60_000, algorithm: 'sliding-counter' },
    ];

    it.each([
      ['coalesced', () => durable],
      ['unbatched', () => unbatched],
    ])('has each admission on the replica when it resolves (%s checks)', async (mode, instance) => {
      const { limiter } = instance();
      const before = await durabilityCount(instance(), 'acknowledged');
      for (const rule of rules) {
        for (let hit = 1; hit <= 3; hit += 1) {
          expect(await limiter.consume(`${mode}-one`, rule)).toMatchObject({
            allowed: true,
            source: 'redis',
          });
          expect(await admissionsOn(onReplica, limiter.redisKey(`${mode}-one`, rule))).toBe(hit);
        }
      }
      // Several limits in one script call.
      expect(await limiter.consumeAll(`${mode}-all`, rules)).toMatchObject({
        allowed: true,
        source: 'redis',
      });
      for (const rule of rules)
        expect(await admissionsOn(onReplica, limiter.redisKey(`${mode}-all`, rule))).toBe(1);
      expect(await durabilityCount(instance(), 'acknowledged')).toBe(before + rules.length * 3 + 1);
    });

    it('has every admission of a batch on the replica when the batch resolves, with one WAIT per turn', async () => {
      const { limiter } = durable;
      const rule = rules[0] as RateLimitRule;
      const clients = Array.from({ length: 20 }, (_, index) => `batch-${index}`);
      await onPrimary.config('RESETSTAT');
      const outcomes = await Promise.all(clients.map((client) => limiter.consume(client, rule)));
      expect(outcomes.every((outcome) => outcome.allowed && outcome.source === 'redis')).toBe(true);
      for (const client of clients)
        expect(await admissionsOn(onReplica, limiter.redisKey(client, rule))).toBe(1);
      // The first batch of a script on a server may need its source sent (NOSCRIPT): one more group.
      expect(await waitCalls(onPrimary)).toBeLessThanOrEqual(2);
    });

    it('sends no WAIT for a peek, nor in the default mode', async () => {
      const rule = rules[0] as RateLimitRule;
      await onPrimary.config('RESETSTAT');
      expect(await plain.limiter.consume('default-mode', rule)).toMatchObject({ allowed: true });
      expect(await durable.limiter.peek('default-mode', rule)).toMatchObject({ remaining: 4 });
      expect(await unbatched.limiter.peek('default-mode', rule)).toMatchObject({ remaining: 4 });
      expect(await waitCalls(onPrimary)).toBe(0);
    });
  });

  describe('with the replica stopped', () => {
    const open: RateLimitRule = { name: 'open', limit: 10, windowMs: 60_000 };
    const closed: RateLimitRule = { name: 'closed', limit: 10, windowMs: 60_000, onRedisError: 'closed' };
    const full: RateLimitRule = { name: 'full', limit: 1, windowMs: 60_000, onRedisError: 'open' };

    beforeAll(async () => {
      expect(await durable.limiter.consume('full-client', full)).toMatchObject({
        allowed: true,
        source: 'redis',
      });
      await replica.kill();
      await waitUntilNoReplica(onPrimary);
    });

    it('decides each unacknowledged admission by the Redis-failure policy, and counts it', async () => {
      const counted = await durabilityCount(durable, 'unacknowledged');
      expect(await durable.limiter.consume('client', open)).toMatchObject({
        allowed: true,
        source: 'fail-open',
      });
      expect(await durable.limiter.consume('client', closed)).toMatchObject({
        allowed: false,
        source: 'fail-closed',
        retryAfterMs: 1_000,
      });
      // A batch of one turn: each admission of it falls back on its own.
      const batch = await Promise.all(['a', 'b', 'c'].map((client) => durable.limiter.consume(client, open)));
      expect(batch.map((outcome) => outcome.source)).toEqual(['fail-open', 'fail-open', 'fail-open']);
      expect(await durabilityCount(durable, 'unacknowledged')).toBe(counted + 5);
      expect(
        await metricValue(durable.metrics, 'redkit_ratelimit_requests_total{limit="closed",outcome="error"}'),
      ).toBe(1);

      expect(await unbatched.limiter.consumeAll('client', [open, closed])).toMatchObject({
        allowed: false,
        source: 'fail-closed',
      });
      expect(await durabilityCount(unbatched, 'unacknowledged')).toBe(1);
      expect(await insured.limiter.consume('client', closed)).toMatchObject({
        allowed: true,
        source: 'insurance',
      });
      expect(await durabilityCount(insured, 'unacknowledged')).toBe(1);
    });

    it("still refuses on Redis's word: a refusal admits nothing, so needs no acknowledgement", async () => {
      const counted = await durabilityCount(durable, 'unacknowledged');
      expect(await durable.limiter.consume('full-client', full)).toMatchObject({
        allowed: false,
        source: 'redis',
      });
      expect(await unbatched.limiter.consume('full-client', full)).toMatchObject({
        allowed: false,
        source: 'redis',
      });
      expect(await durabilityCount(durable, 'unacknowledged')).toBe(counted);
    });
  });
});

describe('a durable rate limit across the failure of its primary', () => {
  const keyPrefix = uniquePrefix('failoverlimit');
  const limit = 5;
  const rule: RateLimitRule = { name: 'failover', limit, windowMs: 60_000, onRedisError: 'closed' };
  const servers = replicatedPairPerTest();

  const open = async (server: RedisServer, options: RateLimitModuleOptions) => {
    const instance = await openLimiter(
      { url: server.url, keyPrefix, commandTimeoutMs: COMMAND_TIMEOUT_MS },
      options,
    );
    servers.afterTest(() => instance.close());
    return instance;
  };

  /** Kills the primary and promotes the replica, as Sentinel would (REPLICAOF NO ONE). */
  const failOver = async () => {
    await servers.primary.kill();
    const onReplica = admin(servers.replica);
    try {
      await onReplica.call('REPLICAOF', 'NO', 'ONE');
    } finally {
      onReplica.disconnect();
    }
  };

  /** Hits the promoted replica until it refuses; the admissions it made. */
  const admittedAfterFailover = async () => {
    const promoted = await open(servers.replica, {});
    let admitted = 0;
    while ((await promoted.limiter.consume('client', rule)).allowed) admitted += 1;
    return admitted;
  };

  it('denies the next hit on the promoted replica after hits up to the limit: 0 over-admissions', async () => {
    const { limiter } = await open(servers.primary, DURABLE);
    for (let hit = 0; hit < limit; hit += 1) {
      expect(await limiter.consume('client', rule)).toMatchObject({ allowed: true, source: 'redis' });
    }
    await failOver();
    expect(await admittedAfterFailover()).toBe(0);
  });

  // The replica is cut off first (promoted while the old primary still takes checks, as in a
  // failover the old primary's clients learn of late), so what the primary admits then never
  // reaches it. Durable mode does not take Redis's word for those: they fail closed here.
  it.each([
    ['durable mode admits 0', DURABLE, 0],
    ['the default mode admits 3', {}, 3],
  ] as const)(
    'over the limit across a failover to a replica cut off from the primary: %s',
    async (_mode, options, overAdmissions) => {
      const { limiter } = await open(servers.primary, options);
      let admitted = 0;
      for (let hit = 0; hit < 2; hit += 1) if ((await limiter.consume('client', rule)).allowed) admitted += 1;
      const onReplica = admin(servers.replica);
      const onPrimary = admin(servers.primary);
      try {
        await onReplica.call('REPLICAOF', 'NO', 'ONE');
        await waitUntilNoReplica(onPrimary);
      } finally {
        onReplica.disconnect();
        onPrimary.disconnect();
      }
      for (let hit = 0; hit < 3; hit += 1) if ((await limiter.consume('client', rule)).allowed) admitted += 1;
      await servers.primary.kill();
      admitted += await admittedAfterFailover();
      expect(admitted - limit).toBe(overAdmissions);
    },
  );
});
