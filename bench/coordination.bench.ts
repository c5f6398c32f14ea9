// Coordination benchmark: redkit's Semaphore against redis-semaphore's Semaphore, and what leader
// election costs in time: hand-over after a graceful stop and after a SIGKILL, and the latency from
// publishing an event to the leader's handler. Run it with `npm run bench -- coordination`.
//
// Scenarios:
// - semaphore            acquire + release of 1 permit of a limit-10 semaphore, 64 in flight on one
//                        semaphore (54 always waiting). redis-semaphore polls (retryInterval, its
//                        default 10 ms and a tuned 1 ms); each of the two runs on a plain and an
//                        auto-pipelined client (atTheirBest, bench/README.md), the faster marked best.
// - semaphore-2-clients  the same, the ops alternating between two clients with a connection each
//                        (as two processes would): redkit's in-process hand-over stops once each
//                        sees the other waiting, and every waiter competes in Redis.
// - leader-handover      the leader stops gracefully (resigns, announces the vacancy); one op = until
//                        the follower leads. 1 in flight.
// - leader-after-sigkill the leader (a child process) is SIGKILLed; one op = until the follower
//                        leads: the lease has to lapse (lease 500 ms, retry period 100 ms).
// - event-to-leader      an event published on the bus, until the leader's @LeaderOnly-style handler
//                        has it (two instances listen, the follower ignores it). 16 in flight.
import 'reflect-metadata';

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { LockService, type LeaderElector } from '@redkit/lock';
import { EventBus, type EventEnvelope } from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';
import { Semaphore as PeerSemaphore } from 'redis-semaphore';

import { atTheirBest, clientOptions, runSuite } from './lib/suite.js';
import type { ClientMode, Closeable, Scenario, SubjectDefinition } from './lib/suite.js';

const LIMIT = 10;
const TTL_MS = 10_000;
const WAIT_MS = 30_000;
const HANDOVER = { leaseMs: 2_000, renewDeadlineMs: 1_200, retryPeriodMs: 500 };
const CRASH = { leaseMs: 500, renewDeadlineMs: 300, retryPeriodMs: 100 };
const child = fileURLToPath(new URL('./coordination/leader-child.mjs', import.meta.url));

type ScenarioName =
  'semaphore' | 'semaphore-2-clients' | 'leader-handover' | 'leader-after-sigkill' | 'event-to-leader';

interface CoordinationSubject extends Closeable {
  scenarios: readonly ScenarioName[];
  /** Electors and buses a scenario started, stopped when the subject closes. */
  cleanup: (() => Promise<unknown>)[];
  /** semaphore: one acquire + release. */
  section?(): Promise<void>;
  /** semaphore-2-clients: one acquire + release on the second client. */
  otherSection?(): Promise<void>;
  redisUrl: string;
  locks?: LockService;
  connection?: RedisConnection;
}

async function redkitSubject(url: string, fair: boolean): Promise<CoordinationSubject> {
  const connection = await RedisConnection.open('bench-coordination', { url });
  const locks = new LockService(connection, { ttlMs: TTL_MS, maxWaitMs: WAIT_MS });
  await locks.onModuleInit();
  const semaphore = locks.semaphore('bench', { limit: LIMIT, fair });
  const otherConnection = await RedisConnection.open('bench-coordination-2', { url });
  const otherLocks = new LockService(otherConnection, { ttlMs: TTL_MS, maxWaitMs: WAIT_MS });
  await otherLocks.onModuleInit();
  const other = otherLocks.semaphore('bench', { limit: LIMIT, fair });
  const cleanup: (() => Promise<unknown>)[] = [];
  return {
    scenarios: fair
      ? ['semaphore', 'semaphore-2-clients']
      : ['semaphore', 'semaphore-2-clients', 'leader-handover', 'leader-after-sigkill', 'event-to-leader'],
    redisUrl: url,
    locks,
    connection,
    cleanup,
    async section() {
      const permit = await semaphore.acquire();
      await permit.release();
    },
    async otherSection() {
      const permit = await other.acquire();
      await permit.release();
    },
    async close() {
      for (const step of cleanup) await step();
      await locks.onApplicationShutdown();
      await otherLocks.onApplicationShutdown();
      await connection.close();
      await otherConnection.close();
    },
  };
}

async function peerSubject(
  url: string,
  mode: ClientMode,
  retryInterval: number,
): Promise<CoordinationSubject> {
  const client = new Redis(url, clientOptions(mode));
  const otherClient = new Redis(url, clientOptions(mode));
  const options = { lockTimeout: TTL_MS, acquireTimeout: WAIT_MS, refreshInterval: 0, retryInterval };
  // One object per acquire: redis-semaphore's documented use (a shared one breaks its limit, #249).
  const section = async (on: Redis) => {
    const semaphore = new PeerSemaphore(on, 'bench', LIMIT, options);
    await semaphore.acquire();
    await semaphore.release();
  };
  return {
    scenarios: ['semaphore', 'semaphore-2-clients'],
    redisUrl: url,
    cleanup: [],
    section: () => section(client),
    otherSection: () => section(otherClient),
    async close() {
      await client.quit();
      await otherClient.quit();
    },
  };
}

const subjects: SubjectDefinition<CoordinationSubject>[] = [
  { name: 'redkit', kind: 'redkit', create: (url) => redkitSubject(url, false) },
  { name: 'redkit-fair', kind: 'redkit', create: (url) => redkitSubject(url, true) },
  // Its documented default retryInterval (10 ms), and one tuned to 1 ms: each a family of two rows.
  ...atTheirBest<CoordinationSubject>({
    name: 'redis-semaphore',
    kind: 'peer',
    create: (url, client) => peerSubject(url, client, 10),
  }),
  ...atTheirBest<CoordinationSubject>({
    name: 'redis-semaphore-retry-1ms',
    kind: 'peer',
    create: (url, client) => peerSubject(url, client, 1),
  }),
];

/** Takeover times of one row's measured window: their median and 99th percentile, in ms. */
function takeovers() {
  const times: number[] = [];
  return {
    times,
    reset: () => void times.splice(0),
    extras: () => {
      const sorted = [...times].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return {
        takeoverP50Ms: Math.round(at(0.5)),
        takeoverP99Ms: Math.round(at(0.99)),
        takeovers: times.length,
      };
    },
  };
}

/** Resolves once `elector` leads. */
function led(elector: LeaderElector): Promise<void> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (elector.isLeader()) {
        clearInterval(check);
        resolve();
      }
    }, 1);
    check.unref();
  });
}

const scenarios: Scenario<CoordinationSubject>[] = [
  {
    name: 'semaphore',
    async prepare(subject) {
      if (!subject.scenarios.includes('semaphore') || !subject.section) return null;
      return { op: () => subject.section!() };
    },
  },
  {
    name: 'semaphore-2-clients',
    async prepare(subject) {
      const { section, otherSection } = subject;
      if (!subject.scenarios.includes('semaphore-2-clients') || !section || !otherSection) return null;
      let turn = 0;
      return { op: () => ((turn ^= 1) === 1 ? section() : otherSection()) };
    },
  },
  {
    name: 'leader-handover',
    async prepare(subject) {
      if (!subject.scenarios.includes('leader-handover') || !subject.locks) return null;
      const locks = subject.locks;
      let leader = locks.election('bench-handover', HANDOVER);
      await leader.start();
      await led(leader);
      let follower = locks.election('bench-handover', HANDOVER);
      await follower.start();
      subject.cleanup.push(
        () => leader.stop(),
        () => follower.stop(),
      );
      const measured = takeovers();
      return {
        inFlight: 1,
        op: async () => {
          const next = led(follower);
          const stoppedAt = performance.now();
          await leader.stop();
          await next;
          measured.times.push(performance.now() - stoppedAt);
          // The old leader comes back as the follower of the next round.
          leader = follower;
          follower = locks.election('bench-handover', HANDOVER);
          await follower.start();
        },
        reset: measured.reset,
        extras: measured.extras,
      };
    },
  },
  {
    name: 'leader-after-sigkill',
    async prepare(subject) {
      if (!subject.scenarios.includes('leader-after-sigkill') || !subject.locks) return null;
      const locks = subject.locks;
      let follower: LeaderElector | undefined;
      subject.cleanup.push(async () => follower?.stop());
      const measured = takeovers();
      return {
        inFlight: 1,
        op: async () => {
          // Untimed part first: a fresh leader process, then a follower here.
          await follower?.stop();
          const leader = fork(child, [subject.redisUrl, JSON.stringify(CRASH)], { stdio: 'ignore' });
          subject.cleanup.push(async () => leader.kill('SIGKILL'));
          await new Promise<void>((resolve) => leader.once('message', () => resolve()));
          follower = locks.election('bench-crash', CRASH);
          await follower.start();
          const killedAt = performance.now();
          leader.kill('SIGKILL');
          await led(follower);
          measured.times.push(performance.now() - killedAt);
        },
        reset: measured.reset,
        extras: measured.extras,
      };
    },
  },
  {
    name: 'event-to-leader',
    async prepare(subject) {
      if (!subject.scenarios.includes('event-to-leader') || !subject.locks || !subject.connection)
        return null;
      const locks = subject.locks;
      const metrics = new MetricsService();
      const buses = [
        new EventBus(subject.connection, {}, metrics),
        new EventBus(subject.connection, {}, metrics),
      ];
      const electors = [locks.election('bench-events', HANDOVER), locks.election('bench-events', HANDOVER)];
      await Promise.all(electors.map((elector) => elector.start()));
      subject.cleanup.push(
        ...electors.map((elector) => () => elector.stop()),
        ...buses.map((bus) => () => bus.close()),
      );
      await Promise.race(electors.map((elector) => led(elector)));
      const waiting = new Map<string, () => void>();
      await Promise.all(
        buses.map((bus, index) =>
          bus.subscribe('bench.*', (event: EventEnvelope<{ id: string }>) => {
            if (!electors[index]!.isLeader()) return;
            waiting.get(event.data.id)?.();
          }),
        ),
      );
      let sequence = 0;
      return {
        inFlight: 16,
        op: () =>
          new Promise<void>((resolve, reject) => {
            const id = String((sequence += 1));
            waiting.set(id, () => {
              waiting.delete(id);
              resolve();
            });
            buses[0]!.publish('bench.event', { id }).catch(reject);
          }),
      };
    },
  },
];

await runSuite({
  module: 'coordination',
  scenarios,
  subjects,
  extraColumns: [
    { key: 'takeoverP50Ms', title: 'takeover p50 ms' },
    { key: 'takeoverP99Ms', title: 'takeover p99 ms' },
  ],
  notes: [
    `semaphore: acquire + release of 1 permit, limit ${LIMIT}, 64 in flight on one semaphore. redkit grants in one Lua ` +
      'script on the server clock; non-fair, a permit released in-process goes straight to a waiting caller of the ' +
      'same object (up to 15 times per grant from Redis); fair-mode waiters are queued in Redis and woken by notice; ' +
      'redis-semaphore polls every retryInterval (10 ms default, 1 ms tuned), each on a plain and an auto-pipelined ' +
      'client; ★ marks the faster of the two, which the ratios use. ' +
      'semaphore-2-clients: the same ops alternating between two clients, each with its own connection (two ' +
      'processes, in effect): once redkit sees the other client waiting, permits go back through Redis on every ' +
      'release and every waiter competes there.',
    `leader-handover: graceful stop to the follower leading (lease ${HANDOVER.leaseMs} ms, retry ${HANDOVER.retryPeriodMs} ms: ` +
      'the vacancy notice, not the period, sets the time). leader-after-sigkill: the leader process is killed; ' +
      `the lease (${CRASH.leaseMs} ms) must lapse, then the next campaign (every ${CRASH.retryPeriodMs} ms) wins.`,
    'event-to-leader: publish on the EventBus until the leader instance handles it (both instances receive it).',
  ],
});
