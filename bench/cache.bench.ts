// Cache benchmark: redkit's two-level cache against bentocache and cacheable, with raw lru-cache and
// raw ioredis as the limits. Run it with `npm run bench -- cache` (BENCH_SECONDS=1 for a quick run).
//
// Every subject stores the same ~200-byte JSON object with a 60 s TTL, behind an L1 of at most
// L1_MAX_ENTRIES entries (WIDE_L1_MAX_ENTRIES in getorset-l1-10k), on the same fresh Redis (flushed
// before each subject), 64 operations in flight. Scenarios:
//
// - l1-hit           get() over HOT_KEYS preloaded keys, all of which fit in L1.
// - getorset-l1-10k  getOrSet(key, loader) over WIDE_KEYS preloaded keys, all in L1: the way
//                    `@Cacheable` reads, over a working set a hundred times l1-hit's, so key
//                    building and L1 lookups are not answered from a hot CPU cache. The loader
//                    must never run (counted, reported as loaderCalls). Each subject opens a second
//                    instance for this row with an L1 of WIDE_L1_MAX_ENTRIES (the others keep the
//                    1,000 bound l2-hit relies on) and closes it after the row.
// - l2-hit           get() over COLD_KEYS preloaded keys read in a cycle. COLD_KEYS is ten times the L1
//                    bound, so an LRU L1 never still holds the key read next: every get is an L1 miss,
//                    one Redis read, a deserialization and an L1 refill, which is what an instance
//                    with a cold L1 pays. All subjects keep their L1 on and bounded the same way, so
//                    nobody skips the L1 bookkeeping (and no library needs an "L2 only" mode, which
//                    would measure another code path). Every get checks the value, and L1 cannot hold
//                    it, so it came from Redis: one GET per op for most subjects (redis cmds/op ≈ 1),
//                    while redkit reads the L1 misses of one event-loop turn with MGETs of up to 32
//                    keys (cmds/op ≈ 1 / keys per MGET).
// - miss             getOrSet() on a new key each time; the loader waits 1 ms (setTimeout) and returns
//                    the value, which the subject then writes to L1 and Redis. redkit-dsf is redkit
//                    with distributedSingleFlight on: one command reads the value or takes the lease
//                    (SET NX GET, the misses of one turn in one script; the lease lives in the entry's
//                    key) and the store ends it (SET GET).
//                    Nobody waits in this row, so no landing notice is published.
// - stampede         rounds of STAMPEDE_CALLERS concurrent getOrSet() calls on one new key, one round
//                    at a time: ops/s are rounds/s, latencies are per round, and loaderCalls is the
//                    number of loader runs per round (1 is perfect single-flight).
//
// Peers at their best (bench/README.md): bentocache and the raw-ioredis-get limit run twice, on a
// plain and on an auto-pipelined ioredis client; the faster row of each scenario is the one the
// ratios use. cacheable talks to Redis through node-redis (KeyvRedis), not ioredis, so it runs once.
// redkit keeps its own defaults (auto-pipelining on, pub/sub invalidation on).
//
// Limits: raw-lru-cache is an awaited lru-cache get (with a TTL, as an L1 has) for l1-hit, and for
// getorset-l1-10k the same get with a loader behind it that never runs; raw-ioredis-get is one
// ioredis GET + JSON.parse for l2-hit, and for miss the hand-written cache-aside (GET, loader, SET PX)
// that a cache library competes with.
//
// Peers use their documented two-level setups with the library defaults except the L1 bound:
// - bentocache: bentostore().useL1Layer(memoryDriver).useL2Layer(redisDriver), no bus.
// - cacheable: Cacheable({ primary: createKeyv({ lruSize }), secondary: KeyvRedis }), blocking mode
//   (nonBlocking would answer an L1 miss with undefined and read Redis in the background).
// Neither peer has its cross-instance L1 sync on (bentocache's bus, cacheable's CacheableSync).
import 'reflect-metadata';

import { CacheService, type CacheModuleOptions } from '@redkit/cache';
import { RedisConnection } from '@redkit/redis';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { Cacheable, createKeyv } from 'cacheable';
import KeyvRedis from '@keyv/redis';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { setTimeout as sleep } from 'node:timers/promises';
import { atTheirBest, clientOptions, runSuite } from './lib/suite.js';
import type { ClientMode, Closeable, Scenario, SubjectDefinition } from './lib/suite.js';

const TTL_MS = 60_000;
/** Every subject's L1 holds at most this many entries (l2-hit relies on the bound). */
const L1_MAX_ENTRIES = 1_000;
/** l1-hit reads these many keys: all fit in L1. */
const HOT_KEYS = 100;
/** getorset-l1-10k reads these many keys, all in L1... */
const WIDE_KEYS = 10_000;
/** ...of the instance each subject opens for that row, with room to spare. */
const WIDE_L1_MAX_ENTRIES = 2 * WIDE_KEYS;
/** l2-hit cycles through these many keys: ten times L1, so L1 never has the next one. */
const COLD_KEYS = 10 * L1_MAX_ENTRIES;
const STAMPEDE_CALLERS = 100;
const LOADER_DELAY_MS = 1;

/** The cached value: a flat JSON object of about 200 bytes, like a small API record. */
const VALUE = {
  id: 'ord_01HZX4T9K2M8Q7W3E5R6Y1U0PA',
  symbol: 'BTC-USD',
  side: 'buy',
  type: 'limit',
  price: '64250.50',
  quantity: '0.12500000',
  filled: '0.02500000',
  status: 'partially_filled',
  clientId: 'client-7781',
  createdAt: '2025-01-15T10:32:07.123Z',
} as const;
type CachedValue = typeof VALUE;
const VALUE_BYTES = Buffer.byteLength(JSON.stringify(VALUE));

type ScenarioName = 'l1-hit' | 'getorset-l1-10k' | 'l2-hit' | 'miss' | 'stampede';

/** What every subject offers the scenarios; limits implement only the scenarios they list. */
export interface CacheSubject extends Closeable {
  /** The scenarios this subject runs; all of them when absent. */
  scenarios?: readonly ScenarioName[];
  get(key: string): Promise<unknown>;
  set(key: string, value: CachedValue, ttlMs: number): Promise<unknown>;
  getOrSet(key: string, loader: () => Promise<CachedValue>, ttlMs: number): Promise<unknown>;
  /**
   * Another instance of the same subject (same client kind, own connections) whose L1 holds up to
   * `l1MaxEntries`, for getorset-l1-10k; the row closes it.
   */
  withL1MaxEntries(l1MaxEntries: number): Promise<CacheSubject>;
}

/**
 * redkit's CacheService on `redisUrl`. L1 is bounded to L1_MAX_ENTRIES like the peers' and kept on
 * (l2-hit relies on the bound, not on turning L1 off); invalidation publishing stays on, so redkit's
 * writes pay for a feature the peers run without. `options` adds to that (distributedSingleFlight).
 */
export async function redkitSubject(
  redisUrl: string,
  options: CacheModuleOptions = {},
  l1MaxEntries = L1_MAX_ENTRIES,
): Promise<CacheSubject> {
  // The product's defaults (pub/sub invalidation on, auto-pipelining on), L1 capped like the peers'.
  const connection = await RedisConnection.open('bench', { url: redisUrl });
  const cache = new CacheService(connection, { ...options, l1MaxEntries, ttlJitter: 0 });
  await cache.onModuleInit();
  // One options object per TTL, built once, as @Cacheable passes its compiled options.
  const optionsOf = new Map<number, { ttlMs: number }>();
  const ttl = (ttlMs: number) => {
    let built = optionsOf.get(ttlMs);
    if (built === undefined) optionsOf.set(ttlMs, (built = { ttlMs }));
    return built;
  };
  return {
    get: (key) => cache.get(key),
    set: (key, value, ttlMs) => cache.set(key, value, ttl(ttlMs)),
    getOrSet: (key, loader, ttlMs) => cache.getOrSet(key, loader, ttl(ttlMs)),
    withL1MaxEntries: (entries) => redkitSubject(redisUrl, options, entries),
    close: async () => {
      await cache.onApplicationShutdown();
      await connection.close();
    },
  };
}

/** redkit with distributedSingleFlight on: only the rows that load (miss, stampede) differ. */
async function redkitDistributedSubject(redisUrl: string): Promise<CacheSubject> {
  const subject = await redkitSubject(redisUrl, { distributedSingleFlight: true });
  return { ...subject, scenarios: ['miss', 'stampede'] };
}

// ---------------------------------------------------------------------------------------------------
// Peers and limits
// ---------------------------------------------------------------------------------------------------

async function bentocacheSubject(
  redisUrl: string,
  mode: ClientMode,
  l1MaxEntries = L1_MAX_ENTRIES,
): Promise<CacheSubject> {
  const connection = new Redis(redisUrl, clientOptions(mode));
  const bento = new BentoCache({
    default: 'cache',
    stores: {
      cache: bentostore()
        .useL1Layer(memoryDriver({ maxItems: l1MaxEntries }))
        .useL2Layer(redisDriver({ connection })),
    },
  });
  return {
    get: (key) => bento.get({ key }),
    set: (key, value, ttlMs) => bento.set({ key, value, ttl: ttlMs }),
    getOrSet: (key, loader, ttlMs) => bento.getOrSet({ key, factory: loader, ttl: ttlMs }),
    withL1MaxEntries: (entries) => bentocacheSubject(redisUrl, mode, entries),
    // Also disconnects the ioredis connection it was given.
    close: () => bento.disconnectAll(),
  };
}

/** cacheable's Redis store is KeyvRedis on node-redis: no ioredis client to run in two modes. */
async function cacheableSubject(redisUrl: string, l1MaxEntries = L1_MAX_ENTRIES): Promise<CacheSubject> {
  const cache = new Cacheable({
    primary: createKeyv({ lruSize: l1MaxEntries }),
    secondary: new KeyvRedis(redisUrl),
  });
  return {
    get: (key) => cache.get(key),
    set: (key, value, ttlMs) => cache.set(key, value, ttlMs),
    getOrSet: (key, loader, ttlMs) => cache.getOrSet(key, loader, { ttl: ttlMs }),
    withL1MaxEntries: (entries) => cacheableSubject(redisUrl, entries),
    close: () => cache.disconnect(),
  };
}

async function rawLruCacheSubject(l1MaxEntries = L1_MAX_ENTRIES): Promise<CacheSubject> {
  const lru = new LRUCache<string, CachedValue>({ max: l1MaxEntries, ttl: TTL_MS });
  return {
    scenarios: ['l1-hit', 'getorset-l1-10k'],
    get: async (key) => lru.get(key),
    set: async (key, value, ttlMs) => lru.set(key, value, { ttl: ttlMs }),
    // The least a getOrSet can do: an awaited get, and the loader only when it finds nothing.
    getOrSet: async (key, loader, ttlMs) => {
      const cached = lru.get(key);
      if (cached !== undefined) return cached;
      const value = await loader();
      lru.set(key, value, { ttl: ttlMs });
      return value;
    },
    withL1MaxEntries: (entries) => rawLruCacheSubject(entries),
    close: async () => {},
  };
}

async function rawIoredisGetSubject(redisUrl: string, mode: ClientMode): Promise<CacheSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const get = async (key: string) => {
    const raw = await client.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as unknown);
  };
  return {
    scenarios: ['l2-hit', 'miss'],
    get,
    set: (key, value, ttlMs) => client.set(key, JSON.stringify(value), 'PX', ttlMs),
    // Hand-written cache-aside: no single-flight, no L1.
    getOrSet: async (key, loader, ttlMs) => {
      const cached = await get(key);
      if (cached !== undefined) return cached;
      const value = await loader();
      await client.set(key, JSON.stringify(value), 'PX', ttlMs);
      return value;
    },
    withL1MaxEntries: () => Promise.reject(new Error('raw-ioredis-get has no L1')),
    close: async () => {
      await client.quit();
    },
  };
}

const subjects: SubjectDefinition<CacheSubject>[] = [
  { name: 'redkit', kind: 'redkit', create: (url) => redkitSubject(url) },
  { name: 'redkit-dsf', kind: 'redkit', create: redkitDistributedSubject },
  ...atTheirBest<CacheSubject>({
    name: 'bentocache',
    kind: 'peer',
    create: (url, mode) => bentocacheSubject(url, mode),
  }),
  { name: 'cacheable', kind: 'peer', create: (url) => cacheableSubject(url) },
  { name: 'raw-lru-cache', kind: 'limit', create: () => rawLruCacheSubject() },
  ...atTheirBest<CacheSubject>({ name: 'raw-ioredis-get', kind: 'limit', create: rawIoredisGetSubject }),
];

// ---------------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------------

const runs = (subject: CacheSubject, scenario: ScenarioName) => subject.scenarios?.includes(scenario) ?? true;

/** A loader that counts its calls and answers after LOADER_DELAY_MS, like a fast database query. */
function countingLoader() {
  const loader = async (): Promise<CachedValue> => {
    loader.calls += 1;
    await sleep(LOADER_DELAY_MS);
    return { ...VALUE };
  };
  loader.calls = 0;
  return loader;
}

/** Throws unless `value` is the cached object, so a wrong answer counts as a failed operation. */
function expectValue(value: unknown, key: string): void {
  if ((value as Partial<CachedValue> | undefined)?.id !== VALUE.id) {
    throw new Error(`${key}: expected the cached object, got ${JSON.stringify(value)}`);
  }
}

/** Writes the value under every key through the subject's own set(), 64 at a time. */
async function preload(subject: CacheSubject, keys: readonly string[]): Promise<void> {
  let next = 0;
  const writer = async () => {
    while (next < keys.length) await subject.set(keys[next++]!, VALUE, TTL_MS);
  };
  await Promise.all(Array.from({ length: 64 }, writer));
}

const keyRange = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => `${prefix}:${index}`);

const scenarios: Scenario<CacheSubject>[] = [
  {
    name: 'l1-hit',
    async prepare(subject) {
      if (!runs(subject, 'l1-hit')) return null;
      const keys = keyRange('hot', HOT_KEYS);
      await preload(subject, keys);
      return {
        op: async (seq) => {
          const key = keys[seq % HOT_KEYS]!;
          expectValue(await subject.get(key), key);
        },
      };
    },
  },
  {
    name: 'getorset-l1-10k',
    async prepare(subject) {
      if (!runs(subject, 'getorset-l1-10k')) return null;
      const wide = await subject.withL1MaxEntries(WIDE_L1_MAX_ENTRIES);
      try {
        const keys = keyRange('wide', WIDE_KEYS);
        await preload(wide, keys);
        const loader = countingLoader();
        return {
          op: async (seq) => {
            const key = keys[seq % WIDE_KEYS]!;
            expectValue(await wide.getOrSet(key, loader, TTL_MS), key);
          },
          reset: () => {
            loader.calls = 0;
          },
          // Every key sits in L1: a loader call is a miss the row did not mean to measure.
          extras: () => ({ loaderCalls: loader.calls }),
          dispose: () => wide.close(),
        };
      } catch (error) {
        await wide.close();
        throw error;
      }
    },
  },
  {
    name: 'l2-hit',
    async prepare(subject) {
      if (!runs(subject, 'l2-hit')) return null;
      const keys = keyRange('cold', COLD_KEYS);
      await preload(subject, keys);
      return {
        op: async (seq) => {
          const key = keys[seq % COLD_KEYS]!;
          expectValue(await subject.get(key), key);
        },
      };
    },
  },
  {
    name: 'miss',
    async prepare(subject) {
      if (!runs(subject, 'miss')) return null;
      const loader = countingLoader();
      return {
        op: async (seq) => {
          const key = `miss:${seq}`;
          expectValue(await subject.getOrSet(key, loader, TTL_MS), key);
        },
      };
    },
  },
  {
    name: 'stampede',
    async prepare(subject) {
      if (!runs(subject, 'stampede')) return null;
      const loader = countingLoader();
      let rounds = 0;
      return {
        inFlight: 1,
        op: async (seq) => {
          const key = `stampede:${seq}`;
          const callers = Array.from({ length: STAMPEDE_CALLERS }, () =>
            subject.getOrSet(key, loader, TTL_MS),
          );
          for (const value of await Promise.all(callers)) expectValue(value, key);
          rounds += 1;
        },
        reset: () => {
          loader.calls = 0;
          rounds = 0;
        },
        extras: () => ({
          callersPerRound: STAMPEDE_CALLERS,
          loaderCalls: rounds === 0 ? 0 : Math.round((loader.calls / rounds) * 100) / 100,
        }),
      };
    },
  },
];

await runSuite({
  module: 'cache',
  scenarios,
  subjects,
  extraColumns: [{ key: 'loaderCalls', title: 'loader calls' }],
  notes: [
    `Same data for every subject: a ${VALUE_BYTES}-byte JSON object, TTL ${TTL_MS / 1000} s, L1 bounded to ` +
      `${L1_MAX_ENTRIES.toLocaleString('en-US')} entries (${WIDE_L1_MAX_ENTRIES.toLocaleString('en-US')} in getorset-l1-10k).`,
    `l1-hit: get over ${HOT_KEYS} preloaded keys, all in L1. getorset-l1-10k: getOrSet(key, loader) over ` +
      `${WIDE_KEYS.toLocaleString('en-US')} preloaded keys, all in L1 (how @Cacheable reads), on a second instance ` +
      'of each subject opened for the row; its loader calls column counts loader runs in the window (0 expected).',
    `l2-hit: get cycling over ${COLD_KEYS.toLocaleString('en-US')} preloaded keys, so every read misses the bounded ` +
      'L1, reads Redis and refills L1.',
    `miss: getOrSet on a new key each time, loader = ${LOADER_DELAY_MS} ms setTimeout. stampede: rounds of ` +
      `${STAMPEDE_CALLERS} concurrent getOrSet on one new key, one round at a time; ops/s = rounds/s, latency per round, loader calls per round.`,
    'redkit-dsf: redkit with distributedSingleFlight: true (miss and stampede only): one command reads the ' +
      "value or takes the lease (SET NX GET, the lease kept in the entry's key), the store ends it (SET GET), and a " +
      'landing notice is published only when another instance waits (none does here).',
    'Peers at their best: bentocache (its ioredis connection) and raw-ioredis-get run on a plain and an ' +
      'auto-pipelined client; ★ marks the faster row, which the ratios use. cacheable runs once: its Redis ' +
      'store (KeyvRedis) is node-redis, not ioredis. redkit keeps its defaults (auto-pipelining on).',
    'Limits: raw-lru-cache = awaited lru-cache get (getorset-l1-10k: the same get, loader on a miss); ' +
      'raw-ioredis-get = ioredis GET + JSON.parse, and for miss the hand-written GET → loader → SET PX.',
    'bentocache: memory + redis drivers, no bus. cacheable: CacheableMemory primary + KeyvRedis (node-redis) ' +
      'secondary, blocking mode, no sync.',
    'redis cmds/op: commands the server ran per operation in the measured window (INFO commandstats). ' +
      "redkit's l2-hit reads the L1 misses of one event-loop turn with MGETs of up to 32 keys, hence far below 1.",
  ],
});
