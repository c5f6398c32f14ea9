import { isDeepStrictEqual } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheError, CacheLoaderError, CacheModule, CacheService, cacheAclManifest } from '@redkit/cache';
import {
  FencedStore,
  LockDurabilityError,
  LockError,
  LockModule,
  LockNotAcquiredError,
  LockService,
  lockAclManifest,
  type Lock,
  type ReadWriteLease,
  type SemaphorePermit,
} from '@redkit/lock';
import {
  EventBus,
  IdempotencyStore,
  MessagingError,
  MessagingModule,
  StreamConsumers,
  StreamInspector,
  StreamProducer,
  messagingAclManifest,
  type StreamOutcome,
} from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import {
  CrossedBookError,
  OrderBookError,
  OrderBookModule,
  OrderBookStore,
  orderBookAclManifest,
  type OrderBookModuleOptions,
} from '@redkit/orderbook';
import {
  RateLimitError,
  RateLimitModule,
  RateLimiterService,
  rateLimitAclManifest,
  type RateLimitRule,
} from '@redkit/rate-limit';
import {
  aclSetUserArguments,
  getRedisConnectionToken,
  manifestScriptCommands,
  RedisHealthIndicator,
  RedisKitError,
  RedisModule,
  RedisPermissionError,
  redisAclManifest,
  type RedisAclManifest,
  type RedisConnection,
} from '@redkit/redis';
import { Redis } from 'ioredis';

import { eventually, RedisClusterServers, RedisServer, sleep } from '../harness/index.js';

/**
 * Issue 16, item 3: every command a module's manifest lists (its own, its scripts', and an option's
 * while that option is on) is taken away from a manifest-made user, one at a time (on a Cluster for
 * the few only a Cluster makes a module send). An app of the five modules then runs the module's
 * "workout", every feature its manifest's commands serve, and the test proves that a feature failed
 * with a RedisPermissionError naming the module and the rule to grant, that nothing escaped untyped,
 * that /health reports the refusal, and that the module kept its degrade policy (the cache answers
 * from L1 or the loader, the limiter follows each limit's fail mode, a lock is refused).
 *
 * A refusal inside a script names every command of the script: Redis does not say which one it was.
 */

const MANIFESTS: readonly RedisAclManifest[] = [
  cacheAclManifest,
  rateLimitAclManifest,
  lockAclManifest,
  orderBookAclManifest,
  messagingAclManifest,
];
const PREFIX = 'every';
const USER = 'least-privileged';
const PASSWORD = 'least-privileged-secret';

/**
 * Commands only a Cluster makes a module send: a check of limits of several identities is one script
 * call on a standalone server, but one per identity on a Cluster (each identity is a hash tag of its
 * own), and when one identity refuses, the refund script takes back what the others were charged.
 * The cache's invalidations and landing notices and the event bus's events go out as SPUBLISH
 * (sharded pub/sub) on a Cluster only.
 */
const CLUSTER_ONLY: Readonly<Record<string, readonly string[]>> = {
  'rate-limit': ['del', 'hget', 'zrem'],
  cache: ['spublish'],
  messaging: ['spublish'],
};

/** One command taken away; `option` (`module.option=value`) is on when the command is the option's. */
interface RemovedCommand {
  module: string;
  command: string;
  option?: string;
  topology: 'standalone' | 'cluster';
  /** How the test names the case: ` (with invalidation=tracking)`, ` (on a Cluster)`, or nothing. */
  with: string;
}

/** Every command of `manifest`, sorted: its own and its scripts', then each option's (with the option on). */
function commandsOf(manifest: RedisAclManifest): RemovedCommand[] {
  const always = new Set([...manifest.commands, ...manifestScriptCommands(manifest)]);
  const { module } = manifest;
  const removed: RemovedCommand[] = [...always]
    .sort()
    .map((command) =>
      CLUSTER_ONLY[module]?.includes(command)
        ? { module, command, topology: 'cluster', with: ' (on a Cluster)' }
        : { module, command, topology: 'standalone', with: '' },
    );
  for (const [name, option] of Object.entries(manifest.options ?? {})) {
    for (const command of option.commands) {
      if (always.has(command)) continue;
      removed.push({
        module,
        command,
        option: `${module}.${name}`,
        topology: 'standalone',
        with: ` (with ${name})`,
      });
    }
  }
  return removed;
}

/**
 * A module's `durability` when the removed command is its option's (WAIT): the server has no replica,
 * but the refusal comes before any wait.
 */
function durableWith(
  removed: RemovedCommand,
  option: string,
): { durability?: { replicas: number; timeoutMs: number } } {
  return removed.option === option ? { durability: { replicas: 1, timeoutMs: 50 } } : {};
}

/** `error` and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let at: unknown = error; at !== undefined && chain.length < 10; at = (at as Error).cause) {
    chain.push(at);
    if (!(at instanceof Error)) break;
  }
  return chain;
}

function permissionIn(error: unknown): RedisPermissionError | undefined {
  return causes(error).find((link): link is RedisPermissionError => link instanceof RedisPermissionError);
}

/** Whether Redis's own refusal (a ReplyError, a NOPERM text) shows anywhere in `error`'s chain. */
function rawRefusalIn(error: unknown): boolean {
  return causes(error).some(
    (link) =>
      !(link instanceof RedisPermissionError) &&
      link instanceof Error &&
      (link.name === 'ReplyError' || /NOPERM|can't run this command/.test(link.message)),
  );
}

/**
 * Typed: a RedisPermissionError, or an error of a module that carries one as its cause; or an error of
 * a module that follows from one (a book not found because its snapshot was refused), with no raw
 * refusal of Redis in it.
 */
function typed(error: unknown): boolean {
  if (permissionIn(error) !== undefined) return true;
  const ownError = [
    CacheError,
    RateLimitError,
    LockError,
    OrderBookError,
    MessagingError,
    RedisKitError,
  ].some((type) => error instanceof type);
  return ownError && !rawRefusalIn(error);
}

/** What one workout did: the errors features threw, and where the degrade policy did not hold. */
class Workout {
  readonly errors: Array<{ step: string; error: unknown }> = [];
  readonly violations: string[] = [];

  /** Runs one feature; an error it throws is collected, unless `expected` says it is the feature's answer. */
  async step<T>(
    step: string,
    run: () => Promise<T>,
    expected?: (error: unknown) => boolean,
  ): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (expected?.(error) !== true) this.errors.push({ step, error });
      return undefined;
    }
  }

  /** Each promise's rejection collected, as {@link step} does. */
  async settle<T>(step: string, runs: Array<Promise<T>>): Promise<Array<T | undefined>> {
    return Promise.all(runs.map((run) => this.step(step, () => run)));
  }

  policy(held: boolean, what: string): void {
    if (!held) this.violations.push(what);
  }
}

// ---------------------------------------------------------------------------------------------
// Workouts: one per module, each exercising every feature its manifest's commands serve.
// ---------------------------------------------------------------------------------------------

/** L2 reads (GET, MGET), writes (SET), tags (SADD, SMEMBERS), deletes, clear, distributed single-flight. */
async function cacheWorkout(app: INestApplication, workout: Workout): Promise<void> {
  const cache = app.get(CacheService);
  const loaded = (key: string) => async () => ({ loaded: key });
  const servedFromLoader = (key: string, value: unknown, how: string) => {
    workout.policy(isDeepStrictEqual(value, { loaded: key }), `${how} of "${key}" answers from the loader`);
  };
  // A miss: GET, the loader, SET, and the invalidation's PUBLISH.
  servedFromLoader(
    'one',
    await workout.step('getOrSet', () => cache.getOrSet('one', loaded('one'))),
    'getOrSet',
  );
  // Misses of one event-loop turn share one MGET.
  const keys = ['m1', 'm2', 'm3'];
  const many = await workout.step('getOrSet, three keys in one turn', () =>
    Promise.all(keys.map((key) => cache.getOrSet(key, loaded(key)))),
  );
  keys.forEach((key, index) => servedFromLoader(key, many?.[index], 'getOrSet'));
  // Whatever L2 said, L1 holds what the loader gave.
  const held = await workout.step('get', () => cache.get('one'));
  workout.policy(isDeepStrictEqual(held, { loaded: 'one' }), 'get answers from L1');
  // A tagged write (SET and the tag script), removal by tag (SMEMBERS, UNLINK), by key, by namespace.
  await workout.step('set with tags', () => cache.set('tagged', { tagged: true }, { tags: ['books'] }));
  await workout.step('deleteByTag', () => cache.deleteByTag('books'));
  await workout.step('delete', () => cache.delete('one'));
  await workout.step('clear', () => cache.clear());
  // Distributed single-flight: the read takes the lease (SET NX GET), several in one turn (a script).
  servedFromLoader(
    'lease',
    await workout.step('getOrSet under a lease', () =>
      cache.getOrSet('lease', loaded('lease'), { namespace: 'leased' }),
    ),
    'getOrSet under a lease',
  );
  const leasedKeys = ['lease-1', 'lease-2'];
  const leased = await workout.step('getOrSet under leases, two keys in one turn', () =>
    Promise.all(leasedKeys.map((key) => cache.getOrSet(key, loaded(key), { namespace: 'leased' }))),
  );
  leasedKeys.forEach((key, index) => servedFromLoader(key, leased?.[index], 'getOrSet under a lease'));
  // An entry past its TTL but in grace is reloaded under a lease claimed by a script (GET, TIME).
  await workout.step('set an entry that goes stale', () =>
    cache.set('stale', { loaded: 'before' }, { namespace: 'leased', ttlMs: 1 }),
  );
  await sleep(5);
  servedFromLoader(
    'stale',
    await workout.step('getOrSet of a stale entry', () =>
      cache.getOrSet('stale', loaded('stale'), { namespace: 'leased' }),
    ),
    'getOrSet of a stale entry',
  );
  // A loader that fails under the lease: the lease is ended by a script (GET, DEL).
  await workout.step(
    'getOrSet whose loader fails under a lease',
    () =>
      cache.getOrSet(
        'failing',
        async () => {
          throw new Error('the loader failed');
        },
        { namespace: 'leased' },
      ),
    (error) => error instanceof CacheLoaderError && permissionIn(error) === undefined,
  );
}

/** Every algorithm (sorted-set log, packed log, counter), refusals, peeks, consumeAll, batches, reset. */
async function rateLimitWorkout(app: INestApplication, workout: Workout): Promise<void> {
  const limiter = app.get(RateLimiterService);
  // Above 256 units a sliding log is a sorted set; up to it, a packed string.
  const log: RateLimitRule = {
    name: 'log',
    limit: 300,
    cost: 300,
    windowMs: 60_000,
    algorithm: 'sliding-log',
  };
  const packed: RateLimitRule = {
    name: 'packed',
    limit: 2,
    windowMs: 60_000,
    algorithm: 'sliding-log',
    onRedisError: 'closed',
  };
  const packedShort: RateLimitRule = {
    name: 'packed-short',
    limit: 4,
    windowMs: 100,
    algorithm: 'sliding-log',
  };
  const counter: RateLimitRule = {
    name: 'counter',
    limit: 5,
    windowMs: 60_000,
    algorithm: 'sliding-counter',
    onRedisError: 'closed',
  };
  const failMode = (rules: readonly RateLimitRule[]) =>
    rules.some((rule) => rule.onRedisError === 'closed') ? 'fail-closed' : 'fail-open';
  const decided = (
    what: string,
    rules: readonly RateLimitRule[],
    outcome: { source: string; allowed: boolean } | undefined,
  ) => {
    if (outcome === undefined || outcome.source === 'redis') return;
    const expected = failMode(rules);
    workout.policy(
      outcome.source === expected && outcome.allowed === (expected === 'fail-open'),
      `${what} follows its fail mode (${expected}), got ${outcome.source} allowed=${outcome.allowed}`,
    );
  };
  const consume = async (key: string, rule: RateLimitRule) =>
    decided(
      `consume ${rule.name}`,
      [rule],
      await workout.step(`consume ${rule.name}`, () => limiter.consume(key, rule)),
    );
  // Admitted, then refused (the oldest admission read back), then peeked.
  await consume('client', log);
  await consume('client', log);
  decided('peek log', [log], await workout.step('peek log', () => limiter.peek('client', log)));
  await consume('client', packed);
  await consume('client', packed);
  // A packed log whose entries mostly left the window is rewritten (SET) rather than appended to:
  // two entries, one 60 ms later, and a check 50 ms after that, when only the last one is in the window
  // (and keeps the key alive).
  await consume('client', { ...packedShort, cost: 2 });
  await sleep(60);
  await consume('client', packedShort);
  await sleep(50);
  await consume('client', packedShort);
  // The counter's first admission in a window writes the hash, the next ones increment it.
  await consume('client', counter);
  await consume('client', counter);
  // Several limits decided together (the check script), admitted then refused.
  for (let round = 0; round < 2; round += 1) {
    const decision = await workout.step('consumeAll', () => limiter.consumeAll('together', [log, counter]));
    decided('consumeAll', [log, counter], decision);
  }
  // Checks of one turn go as one batch script.
  const batch = await workout.step('consume, two checks in one turn', () =>
    Promise.all([limiter.consume('batch-1', counter), limiter.consume('batch-2', packed)]),
  );
  decided('batched consume', [counter], batch?.[0]);
  decided('batched consume', [packed], batch?.[1]);
  // Limits of two identities decided together, one of them full: the request is refused, and what the
  // other identity was charged is taken back (on a Cluster, where each identity is a hash tag of its
  // own and so a script call of its own, by the refund script).
  for (const algorithm of ['sliding-log', 'sliding-counter'] as const) {
    for (const limit of algorithm === 'sliding-log' ? [1, 300] : [1]) {
      const rule: RateLimitRule = {
        name: `pair-${algorithm}-${limit}`,
        limit,
        cost: limit,
        windowMs: 60_000,
        algorithm,
      };
      await consume('full', rule);
      const decision = await workout.step('check of two identities', () =>
        limiter.check([
          { key: 'fresh', limit: rule },
          { key: 'full', limit: rule },
        ]),
      );
      decided('check of two identities', [rule], decision);
    }
  }
  await workout.step('reset of one limit', () => limiter.reset('client', [log]));
  await workout.step('reset of every limit', () => limiter.reset('client'));
}

/** Locks (take, queue, hand-over, renewal, extend), fenced writes, semaphores, read-write locks, elections. */
async function lockWorkout(app: INestApplication, workout: Workout): Promise<void> {
  const locks = app.get(LockService);
  const connection = app.get<RedisConnection>(getRedisConnectionToken());
  const refused = (step: string) => (error: unknown) => {
    // The lock's degrade policy: an acquisition that cannot be had is refused, typed; in durable mode,
    // one whose grant no replica could acknowledge (WAIT refused) is refused as unreplicated.
    workout.policy(
      error instanceof LockNotAcquiredError || error instanceof LockDurabilityError,
      `${step} is refused with LockNotAcquiredError or LockDurabilityError`,
    );
    return false;
  };
  const acquire = <T>(step: string, run: () => Promise<T>) => workout.step(step, run, refused(step));
  const release = (step: string, lease: Lock | SemaphorePermit | ReadWriteLease | null | undefined) =>
    lease ? workout.step(step, () => lease.release()) : undefined;
  // Another instance of the app: its waiters queue in Redis, not in this process.
  const other = new LockService(connection, {
    ttlMs: 2_000,
    maxWaitMs: 300,
    retryDelayMs: 10,
    maxRetryDelayMs: 20,
    jitterMs: 0,
    localHandoff: false,
  });
  await other.onModuleInit();
  try {
    await Promise.all([
      (async () => {
        // First take (fence counter started from TIME), extend, release; again (the live counter).
        const lock = await acquire('acquire', () => locks.acquire('plain'));
        if (lock) await workout.step('extend', () => lock.extend());
        await release('release', lock);
        await release('release', await acquire('acquire again', () => locks.acquire('plain')));
        await release('release', await acquire('tryAcquire', () => locks.tryAcquire('plain-try')));
      })(),
      (async () => {
        // A waiter of another instance queues in Redis; the release hands the lock to it (PUBLISH).
        const held = await acquire('acquire', () => locks.acquire('contended'));
        if (!held) return;
        const waiting = acquire('acquire on another instance', () => other.acquire('contended'));
        await sleep(30);
        await release('release to a waiter', held);
        await release('release', await waiting);
      })(),
      (async () => {
        // Callers of one process hand the lock over in memory; the holder renews the lease meanwhile.
        await workout.settle(
          'using, three callers of one process',
          [0, 1, 2].map(() => locks.using('handover', () => sleep(2))),
        );
      })(),
      (async () => {
        const fenced = app.get(FencedStore);
        const lock = await acquire('acquire for fenced writes', () => locks.acquire('fenced'));
        const token = lock?.fencingToken ?? 1;
        await workout.step('FencedStore.set', () => fenced.set('doc', 'v1', token));
        await workout.step('FencedStore.set with ttlMs', () =>
          fenced.set('doc-ttl', 'v1', token, { ttlMs: 60_000 }),
        );
        await workout.step('FencedStore.hset', () => fenced.hset('doc-hash', { field: 'v1' }, token));
        await workout.step('FencedStore.get', () => fenced.get('doc'));
        await workout.step('FencedStore.hgetall', () => fenced.hgetall('doc-hash'));
        await workout.step('FencedStore.highestToken', () => fenced.highestToken('doc'));
        await workout.step('FencedStore.delete', () => fenced.delete('doc', token));
        await release('release', lock);
      })(),
      (async () => {
        const pool = locks.semaphore('pool', { limit: 2 });
        const permit = await acquire('semaphore acquire', () => pool.acquire());
        if (permit) await workout.step('semaphore permit extend', () => permit.extend());
        await workout.step('semaphore available', () => pool.available());
        await release('semaphore permit release', permit);
        await release('semaphore release', await acquire('semaphore tryAcquire', () => pool.tryAcquire()));
      })(),
      (async () => {
        // Fair mode: the second caller queues in Redis and is granted by the release (PUBLISH).
        const fair = locks.semaphore('fair', { limit: 1, fair: true });
        const first = await acquire('fair semaphore acquire', () => fair.acquire());
        if (!first) return;
        const second = acquire('fair semaphore acquire, queued', () => fair.acquire(1, { maxWaitMs: 300 }));
        await sleep(30);
        await release('fair semaphore release to the next', first);
        await release('fair semaphore release', await second);
      })(),
      (async () => {
        const catalog = locks.readWriteLock('catalog');
        const reader = await acquire('read lease', () => catalog.acquireRead());
        if (reader) await workout.step('read lease extend', () => reader.extend());
        await release('read lease release', reader);
        const writer = await acquire('write lease', () => catalog.acquireWrite());
        if (writer) await workout.step('write lease extend', () => writer.extend());
        await release('write lease release', writer);
      })(),
      (async () => {
        // Campaign, a renewal or two, and a resignation that announces the vacancy.
        const elector = locks.election('scheduler', {
          leaseMs: 400,
          renewDeadlineMs: 300,
          retryPeriodMs: 40,
        });
        await workout.step('election start', () => elector.start());
        // Elected at once, unless the campaign is refused (then nobody leads); renewed every 40 ms.
        await eventually(() => expect(elector.isLeader()).toBe(true), 100, 10).catch(() => undefined);
        await sleep(100);
        await workout.step('election stop', () => elector.stop());
      })(),
    ]);
  } finally {
    await other.onApplicationShutdown();
  }
}

const ORDER_BOOK_OPTIONS: OrderBookModuleOptions = {
  symbols: {
    'BTC-USD': { tickSize: '0.5', quantityDecimals: 2 },
    'ETH-USD': { tickSize: '0.5', quantityDecimals: 2 },
  },
  idleTtlMs: 60_000,
  topDepth: 2,
};

/** Snapshots, deltas (levels set, removed, a crossing undone), reads by top string and by script, delete. */
async function orderBookWorkout(app: INestApplication, workout: Workout): Promise<void> {
  const books = app.get(OrderBookStore);
  const level = (price: string, quantity: string) => ({ price, quantity });
  await workout.step('saveSnapshot', () =>
    books.saveSnapshot('BTC-USD', {
      sequence: 1,
      bids: [level('100', '1'), level('99.5', '2'), level('99', '3')],
      asks: [level('101', '1'), level('101.5', '2'), level('102', '3')],
    }),
  );
  await workout.step('applyDelta', () =>
    books.applyDelta('BTC-USD', { sequence: 2, bids: [level('100', '4')], asks: [level('101', '0')] }),
  );
  await workout.step(
    'applyDelta that would cross the book',
    () => books.applyDelta('BTC-USD', { sequence: 3, bids: [level('105', '1')], asks: [] }),
    (error) => error instanceof CrossedBookError,
  );
  await workout.step('getSnapshot from the top string', () => books.getSnapshot('BTC-USD', 2));
  await workout.step('getSnapshot deeper than the top string', () => books.getSnapshot('BTC-USD', 3));
  await workout.step('getTop', () => books.getTop('BTC-USD'));
  await workout.step('listSymbols', () => books.listSymbols());
  // Books that never expire and keep no top string (PERSIST, DEL of the top string).
  const connection = app.get<RedisConnection>(getRedisConnectionToken());
  const kept = new OrderBookStore(connection, { ...ORDER_BOOK_OPTIONS, idleTtlMs: 0, topDepth: 0 });
  await workout.step('saveSnapshot of a book without expiry or top string', () =>
    kept.saveSnapshot('ETH-USD', { sequence: 1, bids: [level('10', '1')], asks: [level('11', '1')] }),
  );
  await workout.step('delete', () => books.delete('BTC-USD'));
}

/** Streams (publish, consume, ack, retry, dead letter, claim, consumer cleanup, stats), idempotency, events. */
async function messagingWorkout(app: INestApplication, workout: Workout): Promise<void> {
  const producer = app.get(StreamProducer);
  const consumers = app.get(StreamConsumers);
  const outcomes = { first: new Set<StreamOutcome>(), live: new Set<StreamOutcome>() };
  const settled = (seen: Set<StreamOutcome>) => (_message: unknown, outcome: StreamOutcome) =>
    seen.add(outcome);
  const waitFor = (done: () => boolean, timeoutMs: number) =>
    eventually(() => expect(done()).toBe(true), timeoutMs, 10).catch(() => undefined);
  // A consumer that handles one entry and stops: a member of the group, idle, for the next one to remove.
  await workout.step('publish to a stream', () => producer.publish('orders', 'order.placed', { id: 1 }));
  const first = await workout.step('start a consumer', () =>
    consumers.start({
      stream: 'orders',
      group: 'billing',
      consumer: 'first',
      handler: () => undefined,
      onSettled: settled(outcomes.first),
    }),
  );
  await waitFor(() => outcomes.first.has('acked'), 200);
  if (first) await workout.step('stop a consumer', () => first.stop());
  // One entry is acknowledged; the other fails, is retried (XCLAIM) and dead-lettered.
  await workout.step('publish to a stream', () => producer.publish('orders', 'order.placed', { id: 2 }));
  await workout.step('publish to a stream', () => producer.publish('orders', 'order.rejected', { id: 3 }));
  const live = await workout.step('start a consumer', () =>
    consumers.start({
      stream: 'orders',
      group: 'billing',
      consumer: 'live',
      handler: (message) => {
        if (message.type === 'order.rejected') throw new Error('the handler failed');
      },
      onSettled: settled(outcomes.live),
    }),
  );
  // Long enough for a claim round (XPENDING, XAUTOCLAIM) and the removal of the idle consumer.
  await sleep(80);
  await waitFor(() => outcomes.live.has('acked') && outcomes.live.has('dead_lettered'), 300);
  const inspector = app.get(StreamInspector);
  await workout.step('stream stats', () => inspector.stats('orders'));
  await workout.step('dead letters', () => inspector.deadLetters('orders'));
  if (live) await workout.step('stop a consumer', () => live.stop());
  const idempotency = app.get(IdempotencyStore);
  await workout.step('runOnce', () => idempotency.runOnce('billing', 'entry-1', () => 'done'));
  await workout.step('isProcessed', () => idempotency.isProcessed('billing', 'entry-1'));
  await workout.step('forget', () => idempotency.forget('billing', 'entry-1'));
  // A member of a partitioned stream: its heartbeat script takes and gives back partition leases.
  await workout.step('publish to a partitioned stream', () =>
    producer.publish({ name: 'ledger', partitions: 2 }, 'entry.booked', { id: 5 }, { partitionKey: 'a' }),
  );
  const member = await workout.step('start a partitioned consumer', () =>
    consumers.startPartitioned({
      stream: { name: 'ledger', partitions: 2 },
      group: 'billing',
      handler: () => undefined,
    }),
  );
  if (member) await workout.step('stop a partitioned consumer', () => member.stop());
  // The event bus: a subscription by channel (PSUBSCRIBE of a pattern needs a channel rule of its own).
  const bus = app.get(EventBus);
  const received: string[] = [];
  const subscription = await workout.step('subscribe', () =>
    bus.subscribe('order.placed', (event) => void received.push(event.type)),
  );
  await workout.step('publish an event', () => bus.publish('order.placed', { id: 4 }));
  await waitFor(() => received.length > 0, 200);
  await subscription?.unsubscribe();
}

const WORKOUTS: Record<string, (app: INestApplication, workout: Workout) => Promise<void>> = {
  cache: cacheWorkout,
  'rate-limit': rateLimitWorkout,
  lock: lockWorkout,
  orderbook: orderBookWorkout,
  messaging: messagingWorkout,
};

describe('a least-privilege user missing one required command', () => {
  let server: RedisServer;
  let cluster: RedisClusterServers;
  /** An admin connection to the standalone server, and one to each master of the Cluster. */
  let admin: Redis;
  let clusterAdmins: Redis[];

  beforeAll(async () => {
    [server, cluster] = await Promise.all([RedisServer.start(), RedisClusterServers.start()]);
    admin = new Redis(server.url, { enableReadyCheck: false });
    clusterAdmins = cluster.servers.map(({ url }) => new Redis(url, { enableReadyCheck: false }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([admin, ...(clusterAdmins ?? [])].map((client) => client?.quit()));
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  /**
   * An app of the five modules connecting as a user made from the manifests (with `removed.option`
   * on) less `removed.command`, on an empty server. Resolves with the app, and the error its
   * initialization threw, if any (its providers still answer then).
   */
  async function appWithout(removed: RemovedCommand): Promise<{ app: INestApplication; failed?: unknown }> {
    const onCluster = removed.topology === 'cluster';
    const spec = {
      prefix: PREFIX,
      user: USER,
      manifests: MANIFESTS,
      options: removed.option ? [removed.option] : [],
    };
    const rules = [...aclSetUserArguments(spec, redisAclManifest), `>${PASSWORD}`, `-${removed.command}`];
    // ACL users are per server: every master of a Cluster gets its own.
    for (const node of onCluster ? clusterAdmins : [admin]) {
      await node.flushall();
      await node.call('ACL', 'SETUSER', ...rules);
    }
    const where = onCluster
      ? { cluster: { nodes: cluster.nodes } }
      : { host: server.host, port: server.port };
    @Module({
      imports: [
        RedisModule.forRoot({ ...where, username: USER, password: PASSWORD, keyPrefix: PREFIX }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        CacheModule.forRoot({
          ttlMs: 60_000,
          invalidation: removed.option === 'cache.invalidation=tracking' ? 'tracking' : 'pubsub',
          namespaces: {
            leased: {
              distributedSingleFlight: { leaseMs: 1_000, waitMs: 200 },
              graceMs: 60_000,
              loaderSoftTimeoutMs: 50,
            },
          },
        }),
        RateLimitModule.forRoot({ ...durableWith(removed, 'rate-limit.durability') }),
        LockModule.forRoot({
          ttlMs: 2_000,
          maxWaitMs: 100,
          retryDelayMs: 10,
          maxRetryDelayMs: 20,
          jitterMs: 0,
          ...durableWith(removed, 'lock.durability'),
        }),
        OrderBookModule.forRoot({ ...ORDER_BOOK_OPTIONS, ...durableWith(removed, 'orderbook.durability') }),
        MessagingModule.forRoot({
          ...durableWith(removed, 'messaging.durability'),
          consumers: {
            blockMs: 50,
            retryDelayMs: 20,
            maxDeliveries: 2,
            claimIdleMs: 60_000,
            claimIntervalMs: 30,
            deleteIdleConsumersAfterMs: 1,
          },
        }),
      ],
      providers: [RedisHealthIndicator],
    })
    class LeastPrivilegeAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [LeastPrivilegeAppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
      return { app };
    } catch (failed) {
      return { app, failed };
    }
  }

  describe.each(MANIFESTS.map((manifest) => [manifest.module, commandsOf(manifest)] as const))(
    '%s',
    (module, removals) => {
      it.each(removals)('$module without $command$with', async (removed) => {
        const { app, failed } = await appWithout(removed);
        const workout = new Workout();
        try {
          if (failed === undefined) await (WORKOUTS[module] as typeof cacheWorkout)(app, workout);
          else workout.errors.push({ step: 'start the app', error: failed });
          const rule = `+${removed.command}`;
          const grants = (refusal: RedisPermissionError) => refusal.rule.split(' ').includes(rule);
          const thrown = workout.errors.flatMap(({ error }) => permissionIn(error) ?? []);
          const recorded = app.get<RedisConnection>(getRedisConnectionToken()).recentRefusals();
          const { redis: health } = await app.get(RedisHealthIndicator).isHealthy('redis');
          // (a) the feature failed with a refusal naming the module and the rule that grants the command
          expect(
            [...thrown, ...recorded].filter((refusal) => refusal.module === module && grants(refusal)),
          ).not.toEqual([]);
          expect(thrown.filter((refusal) => refusal.module !== module)).toEqual([]);
          // (b) every error a feature threw is typed
          expect(
            workout.errors
              .filter(({ error }) => !typed(error))
              .map(({ step, error }) => `${step}: ${String(error)}`),
          ).toEqual([]);
          // (c) /health is down and names the refusal
          expect(health.status).toBe('down');
          expect(
            (health.refused ?? []).filter(
              (entry) => entry.startsWith(`${module}: `) && entry.split(' ').includes(rule),
            ),
          ).not.toEqual([]);
          // (d) the module kept its degrade policy
          expect(workout.violations).toEqual([]);
        } finally {
          await app.close();
        }
      });
    },
  );
});
