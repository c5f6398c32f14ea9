// Lock benchmark: redkit's LockService (one server, and Redlock over 3) against redlock and
// redis-semaphore (Mutex, RedlockMutex), with raw EVALSHA and a raw two-round-trip lock as the limits.
// Run it with `npm run bench -- lock` (BENCH_SECONDS=1 for a quick run).
//
// Scenarios:
// - uncontended   acquire + release on distinct keys (cycling over KEYS resources), 64 in flight.
// - contended-16  acquire + release of ONE key by 16 workers at once: ops/s are critical sections/s,
//                 latency is the time to get through one section (almost all of it waiting).
//
// redkit-durable is redkit with `durability: { replicas: 1 }` (timeoutMs 500): every grant (first
// takes, queued attempts, in-process renewals) followed by WAIT 1 on the one connection, against a
// replica this file starts (and stops) beside the suite's server. Its cost against `redkit` is the
// price of durable mode (libs/lock/README.md, "Durability across failover").
//
// Peers and limits run twice, on a plain and an auto-pipelined ioredis client (bench/README.md).
// Every subject locks with a 10 s TTL and waits up to 30 s; peers keep their retry timers at the
// library defaults (redlock: 200 ms + up to 100 ms jitter; redis-semaphore: 10 ms), with unlimited
// attempts so no section fails. redis-semaphore's automatic refresh is off (refreshInterval 0), as
// nobody's lock is auto-extended in these rows. The Redlock rows use the suite's server plus two
// more this file starts (and stops) on free ports.
//
// Limits (uncontended only): raw-evalsha is one EVALSHA of a one-line SET PX script per op (one round
// trip: no lock can be cheaper); raw-two-round-trip is the hand-written lock: SET key token NX PX,
// then EVALSHA of a compare-and-delete, no library, no fencing token.
import 'reflect-metadata';

import { randomUUID } from 'node:crypto';

import { LockService } from '@redkit/lock';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';
import Redlock from 'redlock';
import { Mutex, RedlockMutex } from 'redis-semaphore';

import { startExtraRedis, startReplicaOf, type ExtraRedis } from './lib/extra-redis.js';
import { atTheirBest, clientOptions, runSuite } from './lib/suite.js';
import type { ClientMode, Closeable, Scenario, SubjectDefinition } from './lib/suite.js';

const TTL_MS = 10_000;
const WAIT_MS = 30_000;
/** uncontended cycles over these many resources (far more than the 64 in flight). */
const KEYS = 10_000;
const CONTENDERS = 16;

type ScenarioName = 'uncontended' | 'contended-16';

interface LockSubject extends Closeable {
  /** The scenarios this subject runs; all of them when absent. */
  scenarios?: readonly ScenarioName[];
  /** Acquires `resource`, then releases it; resolves with the fencing token when there is one. */
  section(resource: string): Promise<number | undefined>;
}

/** The two extra servers of a Redlock row; the suite's own server is the first of the three. */
async function threeServers(redisUrl: string): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const extra: ExtraRedis[] = await Promise.all([startExtraRedis(), startExtraRedis()]);
  return {
    urls: [redisUrl, ...extra.map((server) => server.url)],
    stop: async () => {
      await Promise.all(extra.map((server) => server.stop()));
    },
  };
}

async function redkitSubject(
  urls: string[],
  stopServers?: () => Promise<void>,
  localHandoff = true,
  durability?: { replicas: number },
): Promise<LockSubject> {
  const connections = await Promise.all(
    urls.map((url, index) => RedisConnection.open(`bench-${index}`, { url })),
  );
  const locks = new LockService(connections, {
    ttlMs: TTL_MS,
    maxWaitMs: WAIT_MS,
    localHandoff,
    durability,
  });
  await locks.onModuleInit();
  return {
    async section(resource) {
      const lock = await locks.acquire(resource);
      await lock.release();
      return lock.fencingToken;
    },
    async close() {
      await locks.onApplicationShutdown();
      await Promise.all(connections.map((connection) => connection.close()));
      await stopServers?.();
    },
  };
}

async function redlockSubject(
  urls: string[],
  client: ClientMode,
  stopServers?: () => Promise<void>,
): Promise<LockSubject> {
  const clients = urls.map((url) => new Redis(url, clientOptions(client)));
  const redlock = new Redlock(clients, { retryCount: -1 });
  redlock.on('error', () => undefined);
  return {
    async section(resource) {
      const lock = await redlock.acquire([resource], TTL_MS);
      await lock.release();
      return undefined;
    },
    async close() {
      await Promise.all(clients.map((client) => client.quit()));
      await stopServers?.();
    },
  };
}

async function semaphoreSubject(
  urls: string[],
  client: ClientMode,
  stopServers?: () => Promise<void>,
): Promise<LockSubject> {
  const clients = urls.map((url) => new Redis(url, clientOptions(client)));
  const options = { lockTimeout: TTL_MS, acquireTimeout: WAIT_MS, refreshInterval: 0 };
  return {
    async section(resource) {
      const mutex =
        clients.length === 1
          ? new Mutex(clients[0]!, resource, options)
          : new RedlockMutex(clients, resource, options);
      await mutex.acquire();
      await mutex.release();
      return undefined;
    },
    async close() {
      await Promise.all(clients.map((client) => client.quit()));
      await stopServers?.();
    },
  };
}

async function rawEvalshaSubject(redisUrl: string, mode: ClientMode): Promise<LockSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const sha = (await client.script(
    'LOAD',
    "return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])",
  )) as string;
  return {
    scenarios: ['uncontended'],
    async section(resource) {
      await client.evalsha(sha, 1, resource, randomUUID(), TTL_MS);
      return undefined;
    },
    close: async () => {
      await client.quit();
    },
  };
}

async function rawTwoRoundTripSubject(redisUrl: string, mode: ClientMode): Promise<LockSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const release = (await client.script(
    'LOAD',
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
  )) as string;
  return {
    scenarios: ['uncontended'],
    async section(resource) {
      const token = randomUUID();
      if ((await client.set(resource, token, 'PX', TTL_MS, 'NX')) !== 'OK')
        throw new Error(`${resource} is held`);
      await client.evalsha(release, 1, resource, token);
      return undefined;
    },
    close: async () => {
      await client.quit();
    },
  };
}

const subjects: SubjectDefinition<LockSubject>[] = [
  { name: 'redkit', kind: 'redkit', create: (url) => redkitSubject([url]) },
  // Every hand-over through Redis (strict arrival order across processes): what a lock costs when
  // its waiters are spread over many processes.
  {
    name: 'redkit-no-local-handoff',
    kind: 'redkit',
    create: (url) => redkitSubject([url], undefined, false),
  },
  {
    name: 'redkit-durable',
    kind: 'redkit',
    create: async (url) => {
      const replica = await startReplicaOf(url);
      return redkitSubject([url], replica.stop, true, { replicas: 1 });
    },
  },
  {
    name: 'redkit-redlock-3',
    kind: 'redkit',
    create: async (url) => {
      const servers = await threeServers(url);
      return redkitSubject(servers.urls, servers.stop);
    },
  },
  ...atTheirBest<LockSubject>({
    name: 'redlock',
    kind: 'peer',
    create: (url, client) => redlockSubject([url], client),
  }),
  ...atTheirBest<LockSubject>({
    name: 'redlock-3',
    kind: 'peer',
    create: async (url, client) => {
      const servers = await threeServers(url);
      return redlockSubject(servers.urls, client, servers.stop);
    },
  }),
  ...atTheirBest<LockSubject>({
    name: 'redis-semaphore',
    kind: 'peer',
    create: (url, client) => semaphoreSubject([url], client),
  }),
  ...atTheirBest<LockSubject>({
    name: 'redis-semaphore-redlock-3',
    kind: 'peer',
    create: async (url, client) => {
      const servers = await threeServers(url);
      return semaphoreSubject(servers.urls, client, servers.stop);
    },
  }),
  ...atTheirBest<LockSubject>({ name: 'raw-evalsha', kind: 'limit', create: rawEvalshaSubject }),
  ...atTheirBest<LockSubject>({ name: 'raw-two-round-trip', kind: 'limit', create: rawTwoRoundTripSubject }),
];

const runs = (subject: LockSubject, scenario: ScenarioName) => subject.scenarios?.includes(scenario) ?? true;

const scenarios: Scenario<LockSubject>[] = [
  {
    name: 'uncontended',
    async prepare(subject) {
      if (!runs(subject, 'uncontended')) return null;
      const resources = Array.from({ length: KEYS }, (_, index) => `uncontended:${index}`);
      return { op: (seq) => subject.section(resources[seq % KEYS]!) };
    },
  },
  {
    name: 'contended-16',
    async prepare(subject) {
      if (!runs(subject, 'contended-16')) return null;
      let lastFence = 0;
      return {
        inFlight: CONTENDERS,
        op: async () => {
          const fence = await subject.section('contended');
          // Fencing tokens, where a subject gives them, must only grow (checked at release: a token
          // can be overtaken by its successor's release, so compare against the highest seen).
          if (fence !== undefined) lastFence = Math.max(lastFence, fence);
        },
      };
    },
  },
];

await runSuite({
  module: 'lock',
  scenarios,
  subjects,
  notes: [
    `uncontended: acquire + release on ${KEYS.toLocaleString('en-US')} distinct resources in a cycle, 64 in flight. ` +
      `contended-16: acquire + release of one resource by ${CONTENDERS} workers; ops/s = critical sections/s.`,
    `Every subject: TTL ${TTL_MS / 1000} s, waits up to ${WAIT_MS / 1000} s, retry timers at library defaults ` +
      '(redlock 200 ms + jitter, redis-semaphore 10 ms; redkit: woken by the release, 100 ms fallback timer).',
    'redkit hands out a fencing token with every lock; no peer does. Redlock rows: 3 independent servers.',
    'redkit-durable: durability { replicas: 1 } against one replica of the suite server (every grant waits for ' +
      "the replica's acknowledgement: WAIT 1 500, one per group of grants sent together).",
    "redkit's contended row hands the lock over in-process between the 16 workers (one process), renewing its " +
      'lease and token block in the background; redkit-no-local-handoff sends every hand-over through Redis ' +
      '(release hands the lock to the oldest waiter and tells it on pub/sub): one round trip per section.',
    'raw-evalsha: one EVALSHA (SET PX) per op. raw-two-round-trip: SET NX PX, then EVALSHA compare-and-delete.',
  ],
});
