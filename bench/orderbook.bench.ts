// Order-book benchmark: redkit's OrderBookStore against a plain pipelined implementation, with one
// raw ZRANGE round trip as the limit for depth reads. Run it with `npm run bench -- orderbook`.
//
// Every subject holds BOOKS books (symbols), each LEVELS levels per side on a 0.01 grid, on the same
// fresh Redis (flushed before each subject), 64 operations in flight from one process. Scenarios:
//
// - save-1000  replace a whole book of LEVELS levels per side (the books rotate over the symbols,
//              each with its own increasing sequence).
// - delta-20   apply a 20-level delta (10 bids, 10 asks near the top; every fourth level removed
//              and re-added by the next delta), each book's sequence exactly its last + 1.
// - depth-20   read the top 20 levels of both sides with metadata.
// - depth-100  the same, top 100.
//
// Subjects:
// - redkit: OrderBookStore with the product defaults (validation, exact decimals, sequence check,
//   crossing guard, atomic scripts, a top string of 50 levels per side kept by every write, so a read
//   up to depth 50 is one GET; checksum, spread and mid on every read). The books do not change
//   during a depth row, so its reads reuse the parse of the previous identical reply
//   (reuseParsedReads): every read is still a round trip to Redis.
// - redkit-no-reuse (depth rows only): the same with reuseParsedReads off, so every read parses its
//   reply, computes the checksum and spread/mid: the cost of a read right after a write.
// - redkit-durable (write rows only): the same with `durability: { replicas: 1 }` (timeoutMs 500),
//   against a replica this file starts beside the suite's server: every write followed by WAIT 1
//   (one per group of writes sent together). Its cost against `redkit` is the price of durable mode
//   (libs/orderbook/README.md, "Durability across failover").
// - plain-pipeline: what one writes without a library: per side a sorted set (score = parseFloat of
//   the price, member = price) and a hash price -> quantity, plus a metadata hash. A save is one
//   pipeline (DEL, ZADD, HSET, HSET meta); a delta is one pipeline (ZADD/ZREM + HSET/HDEL + HSET meta)
//   with no sequence check and no atomicity; a read is a pipeline of ZRANGE x2 + HGET, then HMGET x2
//   for the quantities (two round trips).
// - raw-zrange (limit): one ZRANGE of one side (top N members), no parsing: the round trip every
//   depth read pays at least.
// plain-pipeline and raw-zrange run twice (atTheirBest, bench/README.md): on a plain ioredis client
// and on an auto-pipelined one; the faster row per scenario is marked best and used by the ratios.
import 'reflect-metadata';

import { OrderBookStore, type OrderBookLevel } from '@redkit/orderbook';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';

import { startReplicaOf } from './lib/extra-redis.js';
import { atTheirBest, clientOptions, runSuite } from './lib/suite.js';
import type { ClientMode, Closeable, Scenario, SubjectDefinition } from './lib/suite.js';

const BOOKS = 64;
const LEVELS = 1_000;
const DELTA_LEVELS_PER_SIDE = 10;
/** Mid price of every book, in cents. */
const MID_CENTS = 6_425_000;

type ScenarioName = 'save-1000' | 'delta-20' | 'depth-20' | 'depth-100';

interface Side {
  bids: OrderBookLevel[];
  asks: OrderBookLevel[];
}

interface BookSubject extends Closeable {
  /** The scenarios this subject runs; all of them when absent. */
  scenarios?: readonly ScenarioName[];
  save(symbol: string, sequence: number, book: Side): Promise<unknown>;
  delta(symbol: string, sequence: number, change: Side): Promise<unknown>;
  /** Reads the top `depth` levels; resolves with how many levels came back (for a sanity check). */
  depth(symbol: string, depth: number): Promise<number>;
}

const price = (cents: number) => {
  const whole = Math.floor(cents / 100);
  const fraction = cents % 100;
  return fraction === 0 ? String(whole) : `${whole}.${String(fraction).padStart(2, '0').replace(/0$/, '')}`;
};

/** A whole book: LEVELS levels per side around MID_CENTS, quantities with up to 8 decimals. */
function wholeBook(salt: number): Side {
  const level = (cents: number, index: number): OrderBookLevel => ({
    price: price(cents),
    quantity: `${(index * 13 + salt) % 50}.${((index * 7919 + salt * 31) % 99_999_999) + 1}`.replace(
      /0+$/,
      '',
    ),
  });
  return {
    bids: Array.from({ length: LEVELS }, (_, index) => level(MID_CENTS - 1 - index, index)),
    asks: Array.from({ length: LEVELS }, (_, index) => level(MID_CENTS + index, index)),
  };
}

/** DELTAS precomputed 20-level deltas near the top of the book; every fourth level is a removal. */
const DELTAS = 64;
const deltas: Side[] = Array.from({ length: DELTAS }, (_, round) => {
  const change = (cents: number, index: number): OrderBookLevel => ({
    price: price(cents),
    quantity: (round + index) % 4 === 0 ? '0' : `${round + 1}.${index + 1}5`,
  });
  return {
    bids: Array.from({ length: DELTA_LEVELS_PER_SIDE }, (_, index) =>
      change(MID_CENTS - 1 - ((round * 3 + index * 7) % 40), index),
    ),
    asks: Array.from({ length: DELTA_LEVELS_PER_SIDE }, (_, index) =>
      change(MID_CENTS + ((round * 5 + index * 3) % 40), index),
    ),
  };
});
const books: Side[] = Array.from({ length: 8 }, (_, salt) => wholeBook(salt));
const symbols = Array.from({ length: BOOKS }, (_, index) => `BOOK-${index}`);

// ---------------------------------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------------------------------

async function redkitSubject(redisUrl: string, reuseParsedReads = true): Promise<BookSubject> {
  const connection = await RedisConnection.open('bench', { url: redisUrl });
  const store = new OrderBookStore(connection, { defaultSymbol: { tickSize: '0.01' }, reuseParsedReads });
  return {
    // Writes are the same code either way; only reads differ.
    scenarios: reuseParsedReads ? undefined : ['depth-20', 'depth-100'],
    ...storeOperations(store),
    close: () => connection.close(),
  };
}

/** The durable mode's writes, against a replica of the suite's server (stopped by close()). */
async function redkitDurableSubject(redisUrl: string): Promise<BookSubject> {
  const replica = await startReplicaOf(redisUrl);
  const connection = await RedisConnection.open('bench', { url: redisUrl });
  const store = new OrderBookStore(connection, {
    defaultSymbol: { tickSize: '0.01' },
    durability: { replicas: 1 },
  });
  return {
    // Reads are the same code as redkit's.
    scenarios: ['save-1000', 'delta-20'],
    ...storeOperations(store),
    close: async () => {
      await connection.close();
      await replica.stop();
    },
  };
}

function storeOperations(store: OrderBookStore): Pick<BookSubject, 'save' | 'delta' | 'depth'> {
  return {
    save: (symbol, sequence, book) =>
      store.saveSnapshot(symbol, { sequence, bids: book.bids, asks: book.asks }),
    delta: (symbol, sequence, change) =>
      store.applyDelta(symbol, { sequence, bids: change.bids, asks: change.asks }),
    depth: async (symbol, depth) => {
      const book = await store.getSnapshot(symbol, depth);
      return book === null ? 0 : book.bids.length + book.asks.length;
    },
  };
}

async function plainPipelineSubject(redisUrl: string, mode: ClientMode): Promise<BookSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const keys = (symbol: string) => ({
    bids: `plain:{${symbol}}:bids`,
    asks: `plain:{${symbol}}:asks`,
    bidQuantities: `plain:{${symbol}}:bidq`,
    askQuantities: `plain:{${symbol}}:askq`,
    meta: `plain:{${symbol}}:meta`,
  });
  const sideArgs = (levels: readonly OrderBookLevel[]) => {
    const scores: (string | number)[] = [];
    const quantities: string[] = [];
    for (const level of levels) {
      scores.push(parseFloat(level.price), level.price);
      quantities.push(level.price, level.quantity);
    }
    return { scores, quantities };
  };
  return {
    save: async (symbol, sequence, book) => {
      const key = keys(symbol);
      const bids = sideArgs(book.bids);
      const asks = sideArgs(book.asks);
      const pipeline = client.pipeline();
      pipeline.del(key.bids, key.asks, key.bidQuantities, key.askQuantities);
      pipeline.zadd(key.bids, ...bids.scores);
      pipeline.zadd(key.asks, ...asks.scores);
      pipeline.hset(key.bidQuantities, ...bids.quantities);
      pipeline.hset(key.askQuantities, ...asks.quantities);
      pipeline.hset(key.meta, 'seq', sequence, 'updatedAt', Date.now());
      await pipeline.exec();
    },
    delta: async (symbol, sequence, change) => {
      const key = keys(symbol);
      const pipeline = client.pipeline();
      for (const [levels, zset, hash] of [
        [change.bids, key.bids, key.bidQuantities],
        [change.asks, key.asks, key.askQuantities],
      ] as const) {
        for (const level of levels) {
          if (parseFloat(level.quantity) === 0) {
            pipeline.zrem(zset, level.price);
            pipeline.hdel(hash, level.price);
          } else {
            pipeline.zadd(zset, parseFloat(level.price), level.price);
            pipeline.hset(hash, level.price, level.quantity);
          }
        }
      }
      pipeline.hset(key.meta, 'seq', sequence, 'updatedAt', Date.now());
      await pipeline.exec();
    },
    depth: async (symbol, depth) => {
      const key = keys(symbol);
      const [bidPrices, askPrices, sequence] = await Promise.all([
        client.zrange(key.bids, 0, depth - 1, 'REV'),
        client.zrange(key.asks, 0, depth - 1),
        client.hget(key.meta, 'seq'),
      ]);
      const [bidQuantities, askQuantities] = await Promise.all([
        client.hmget(key.bidQuantities, ...bidPrices),
        client.hmget(key.askQuantities, ...askPrices),
      ]);
      const bids = bidPrices.map((p, index) => ({ price: p, quantity: bidQuantities[index] }));
      const asks = askPrices.map((p, index) => ({ price: p, quantity: askQuantities[index] }));
      return sequence === null ? 0 : bids.length + asks.length;
    },
    close: async () => {
      await client.quit();
    },
  };
}

async function rawZrangeSubject(redisUrl: string, mode: ClientMode): Promise<BookSubject> {
  const client = new Redis(redisUrl, clientOptions(mode));
  const key = (symbol: string) => `raw:{${symbol}}:asks`;
  return {
    scenarios: ['depth-20', 'depth-100'],
    // Only to preload the books the reads read.
    save: async (symbol, _sequence, book) => {
      const args: (string | number)[] = [];
      book.asks.forEach((level, index) => args.push(index, `${level.price}:${level.quantity}`));
      await client.del(key(symbol));
      await client.zadd(key(symbol), ...args);
    },
    delta: () => Promise.reject(new Error('raw-zrange has no delta')),
    depth: async (symbol, depth) => (await client.zrange(key(symbol), 0, depth - 1)).length * 2,
    close: async () => {
      await client.quit();
    },
  };
}

const subjects: SubjectDefinition<BookSubject>[] = [
  { name: 'redkit', kind: 'redkit', create: (redisUrl) => redkitSubject(redisUrl) },
  { name: 'redkit-no-reuse', kind: 'redkit', create: (redisUrl) => redkitSubject(redisUrl, false) },
  { name: 'redkit-durable', kind: 'redkit', create: redkitDurableSubject },
  ...atTheirBest<BookSubject>({ name: 'plain-pipeline', kind: 'peer', create: plainPipelineSubject }),
  ...atTheirBest<BookSubject>({ name: 'raw-zrange', kind: 'limit', create: rawZrangeSubject }),
];

// ---------------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------------

const runs = (subject: BookSubject, scenario: ScenarioName) => subject.scenarios?.includes(scenario) ?? true;

/** Each book's last sequence, per subject, so every write carries the next one. */
const sequences = new WeakMap<BookSubject, number[]>();

async function preload(subject: BookSubject): Promise<number[]> {
  let next = sequences.get(subject);
  if (next !== undefined) return next;
  next = symbols.map(() => 1);
  await Promise.all(symbols.map((symbol, index) => subject.save(symbol, 1, books[index % books.length]!)));
  sequences.set(subject, next);
  return next;
}

function depthScenario(name: 'depth-20' | 'depth-100', depth: number): Scenario<BookSubject> {
  return {
    name,
    async prepare(subject) {
      if (!runs(subject, name)) return null;
      await preload(subject);
      return {
        op: async (seq) => {
          const read = await subject.depth(symbols[seq % BOOKS]!, depth);
          if (read !== 2 * depth) throw new Error(`expected ${2 * depth} levels, read ${read}`);
        },
      };
    },
  };
}

const scenarios: Scenario<BookSubject>[] = [
  {
    name: 'save-1000',
    async prepare(subject) {
      if (!runs(subject, 'save-1000')) return null;
      const last = await preload(subject);
      return {
        // The sequence is taken before the call, which sends its command synchronously: commands of
        // one book reach Redis in sequence order on the one connection.
        op: (seq) => {
          const book = seq % BOOKS;
          last[book]! += 1;
          return subject.save(symbols[book]!, last[book]!, books[seq % books.length]!);
        },
      };
    },
  },
  {
    name: 'delta-20',
    async prepare(subject) {
      if (!runs(subject, 'delta-20')) return null;
      const last = await preload(subject);
      return {
        op: (seq) => {
          const book = seq % BOOKS;
          last[book]! += 1;
          return subject.delta(symbols[book]!, last[book]!, deltas[Math.floor(seq / BOOKS) % DELTAS]!);
        },
      };
    },
  },
  depthScenario('depth-20', 20),
  depthScenario('depth-100', 100),
];

await runSuite({
  module: 'orderbook',
  scenarios,
  subjects,
  notes: [
    `${BOOKS} books of ${LEVELS.toLocaleString('en-US')} levels per side on a 0.01 grid, prices around ` +
      `${price(MID_CENTS)}, quantities with up to 8 decimals; operations rotate over the books.`,
    `save-1000: replace a whole book (${LEVELS.toLocaleString('en-US')} levels per side). delta-20: ` +
      `${DELTA_LEVELS_PER_SIDE} bid + ${DELTA_LEVELS_PER_SIDE} ask level changes near the top, a quarter of them removals, ` +
      'sequence exactly last + 1. depth-N: top N levels of both sides + metadata.',
    'redkit: validation, exact decimals, atomic scripts, sequence check, crossing guard; writes keep a 50-level top ' +
      'string, so depth ≤ 50 is one GET; an unchanged book reuses the previous parse (every read still goes to Redis). ' +
      'redkit-no-reuse: parses, checksums and derives spread/mid on every read (the cost right after a write). ' +
      'plain-pipeline: ZSET (float score) + HASH of quantities per side, pipelined, no atomicity, no sequence check; ' +
      'reads take two round trips (ZRANGE, then HMGET). raw-zrange: one ZRANGE of one side, no parsing. ' +
      'Both run on a plain and on an auto-pipelined ioredis client; ★ marks the faster, which vs limit and the ' +
      'ratios use.',
    "Target: redkit depth-20 ≥ 0.8× raw-zrange depth-20 (raw-zrange's best client).",
    'redkit-durable: durability { replicas: 1 } against one replica of the suite server: every write waits for ' +
      "the replica's acknowledgement (WAIT 1 500, one per group of writes sent together).",
    'redis cmds/op: commands the server ran per operation in the measured window (INFO commandstats; a script ' +
      'counts its EVALSHA plus the commands it runs).',
  ],
});
