// Rate-limit benchmark: redkit's sliding log and sliding counter against rate-limiter-flexible
// (RateLimiterRedis) and @nestjs/throttler on a Redis storage, with raw EVALSHA of a trivial script
// as the limit. Run it with `npm run bench -- rate-limit` (BENCH_SECONDS=1 for a quick run).
//
// Every subject checks one request against a limit of LIMIT per WINDOW_MS, 64 checks in flight,
// peers and the limit on a plain and on an auto-pipelined ioredis client (bench/README.md). Scenarios:
//
// - distinct-keys  the key cycles over DISTINCT_KEYS clients, each far below its limit: nearly every
//                  check is admitted (the common case of a healthy API).
// - hot-key        every check is for one client, which floods its limit: nearly every check is
//                  refused (the case the limiter exists for). The admitted share is a column.
//
// Subjects:
// - redkit-log, redkit-counter: RateLimiterService.consume with a precompiled policy, through a
//   RedisConnection with the product defaults: the checks of one event-loop turn go to Redis as one
//   EVALSHA of the batch script (a lone check as one EVALSHA of its one-check script).
// - redkit-log-unbatched, redkit-counter-unbatched: the same with `coalesce: false`, one EVALSHA per
//   check, to show what batching buys in the same run.
// - redkit-durable: redkit-log with `durability: { replicas: 1 }` (timeoutMs 500), against a replica
//   this file starts (and stops) beside the suite's server: every batch or lone check that charges
//   is followed by WAIT 1 500 (one per group of checks sent together), and an admission counts once
//   the replica acknowledged it.
// - rate-limiter-flexible: RateLimiterRedis.consume (its Lua INCR + EXPIRE, fixed window); a refused
//   check rejects with a RateLimiterRes, which the subject catches.
// - nestjs-throttler: what ThrottlerGuard does per request, less the HTTP parts: the key is its
//   generateKey (sha256 of class, handler, throttler name and tracker) and the storage is
//   bench/rate-limit/throttler-redis-storage.ts, a small ThrottlerStorage written for this bench
//   after @nest-lab/throttler-storage-redis (not installable with Nest 12): one Lua script of INCR,
//   PTTL/PEXPIRE and a block key.
// - raw-evalsha: ioredis EVALSHA of `return 1` with one key and one argument: one round trip, no work.
import 'reflect-metadata';

import { createHash } from 'node:crypto';

import { RateLimiterService, type RateLimitPolicy } from '@redkit/rate-limit';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

import { startReplicaOf } from './lib/extra-redis.js';
import { atTheirBest, clientOptions, runSuite } from './lib/suite.js';
import type { ClientMode, Closeable, Scenario, SubjectDefinition } from './lib/suite.js';
import { BenchThrottlerRedisStorage } from './rate-limit/throttler-redis-storage.js';

const LIMIT = 250;
const WINDOW_MS = 1_000;
const DISTINCT_KEYS = 1_000;

/** One check; resolves true when admitted. */
interface LimiterSubject extends Closeable {
  check(key: string): Promise<boolean>;
}

async function redkitSubject(
  redisUrl: string,
  algorithm: 'sliding-log' | 'sliding-counter',
  coalesce = true,
  localRefusalMs = 0,
  durability?: { replicas: number },
) {
  const connection = await RedisConnection.open('bench', { url: redisUrl });
  const limiter = new RateLimiterService(connection, { coalesce, localRefusalMs, durability });
  const policy: RateLimitPolicy = limiter.policy({
    name: 'bench',
    limit: LIMIT,
    windowMs: WINDOW_MS,
    algorithm,
  });
  return {
    check: async (key: string) => (await limiter.consume(key, policy)).allowed,
    close: () => connection.close(),
  };
}

/** The durable mode, against a replica of the suite's server (stopped by close()). */
async function redkitDurableSubject(redisUrl: string): Promise<LimiterSubject> {
  const replica = await startReplicaOf(redisUrl);
  try {
    const subject = await redkitSubject(redisUrl, 'sliding-log', true, 0, { replicas: 1 });
    return {
      check: subject.check,
      close: async () => {
        await subject.close();
        await replica.stop();
      },
    };
  } catch (error) {
    await replica.stop();
    throw error;
  }
}

async function rateLimiterFlexibleSubject(redisUrl: string, mode: ClientMode): Promise<LimiterSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const limiter = new RateLimiterRedis({
    storeClient: client,
    points: LIMIT,
    duration: WINDOW_MS / 1_000,
    keyPrefix: 'rlflx',
  });
  return {
    check: async (key) => {
      try {
        await limiter.consume(key);
        return true;
      } catch (error) {
        if (error instanceof RateLimiterRes) return false;
        throw error;
      }
    },
    close: async () => {
      await client.quit();
    },
  };
}

async function nestThrottlerSubject(redisUrl: string, mode: ClientMode): Promise<LimiterSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const storage = new BenchThrottlerRedisStorage(client);
  return {
    check: async (tracker) => {
      // ThrottlerGuard.generateKey: sha256(`${Class}-${handler}-${throttlerName}-${tracker}`).
      const key = createHash('sha256').update(`BenchController-handle-default-${tracker}`).digest('hex');
      const record = await storage.increment(key, WINDOW_MS, LIMIT, WINDOW_MS, 'default');
      return !record.isBlocked;
    },
    close: async () => {
      await client.quit();
    },
  };
}

async function rawEvalshaSubject(redisUrl: string, mode: ClientMode): Promise<LimiterSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const lua = 'return 1';
  const sha = createHash('sha1').update(lua).digest('hex');
  await client.script('LOAD', lua);
  return {
    check: async (key) => (await client.evalsha(sha, 1, key, '1')) === 1,
    close: async () => {
      await client.quit();
    },
  };
}

const subjects: SubjectDefinition<LimiterSubject>[] = [
  { name: 'redkit-log', kind: 'redkit', create: (url) => redkitSubject(url, 'sliding-log') },
  { name: 'redkit-counter', kind: 'redkit', create: (url) => redkitSubject(url, 'sliding-counter') },
  {
    // A flooding client's refusals served from the instance's memory for up to 1 s (README, "Local
    // refusals"): what the hot-key flood costs with the option the sample API runs.
    name: 'redkit-log-local-refusals',
    kind: 'redkit',
    create: (url) => redkitSubject(url, 'sliding-log', true, 1_000),
  },
  {
    name: 'redkit-log-unbatched',
    kind: 'redkit',
    create: (url) => redkitSubject(url, 'sliding-log', false),
  },
  {
    name: 'redkit-counter-unbatched',
    kind: 'redkit',
    create: (url) => redkitSubject(url, 'sliding-counter', false),
  },
  { name: 'redkit-durable', kind: 'redkit', create: redkitDurableSubject },
  ...atTheirBest<LimiterSubject>({
    name: 'rate-limiter-flexible',
    kind: 'peer',
    create: rateLimiterFlexibleSubject,
  }),
  ...atTheirBest<LimiterSubject>({ name: 'nestjs-throttler', kind: 'peer', create: nestThrottlerSubject }),
  ...atTheirBest<LimiterSubject>({ name: 'raw-evalsha', kind: 'limit', create: rawEvalshaSubject }),
];

/** Counts admitted checks in the measured window, for the admitted-share column. */
function admissions(subject: LimiterSubject, keyOf: (seq: number) => string) {
  let admitted = 0;
  let total = 0;
  return {
    op: async (seq: number) => {
      if (await subject.check(keyOf(seq))) admitted += 1;
      total += 1;
    },
    reset: () => {
      admitted = 0;
      total = 0;
    },
    extras: () => ({ admittedShare: total === 0 ? 0 : Math.round((admitted / total) * 1000) / 1000 }),
  };
}

const distinctKeys = Array.from({ length: DISTINCT_KEYS }, (_, index) => `client-${index}`);

const scenarios: Scenario<LimiterSubject>[] = [
  {
    name: 'distinct-keys',
    prepare: async (subject) => admissions(subject, (seq) => distinctKeys[seq % DISTINCT_KEYS]!),
  },
  {
    name: 'hot-key',
    prepare: async (subject) => admissions(subject, () => 'hot-client'),
  },
];

await runSuite({
  module: 'rate-limit',
  scenarios,
  subjects,
  extraColumns: [{ key: 'admittedShare', title: 'admitted' }],
  notes: [
    `Limit ${LIMIT} per ${WINDOW_MS / 1000} s for every subject. distinct-keys: checks cycle over ` +
      `${DISTINCT_KEYS.toLocaleString('en-US')} clients (almost all admitted); hot-key: one client floods its limit (almost all refused).`,
    'redkit-log / redkit-counter: RateLimiterService.consume (server clock, exact log / weighted counter); the checks of ' +
      "one event-loop turn go as one EVALSHA of the batch script, so cmds/op counts the batch's EVALSHA and TIME once.",
    'redkit-*-unbatched: the same with coalesce: false, one EVALSHA per check.',
    'redkit-durable: redkit-log with durability { replicas: 1 } against one replica of the suite server: every ' +
      "check that charges waits for the replica's acknowledgement (WAIT 1 500, one per group of checks sent together).",
    'redkit-log-local-refusals: the log with localRefusalMs: 1000 (a client Redis just refused is refused by the ' +
      'instance without a round trip until its retry time, at most 1 s; exact).',
    'rate-limiter-flexible: RateLimiterRedis (fixed window; refusals reject and are caught).',
    'nestjs-throttler: ThrottlerGuard key (sha256) + a bench-only Redis ThrottlerStorage in bench/rate-limit/ after ' +
      '@nest-lab/throttler-storage-redis, which does not install with Nest 12: one Lua INCR/PEXPIRE/block-key script.',
    'raw-evalsha: ioredis EVALSHA of `return 1` with one key: the round-trip floor.',
  ],
});
