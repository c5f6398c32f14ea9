// What durable mode costs, measured apart from what replication itself costs (not part of the suite):
// a primary and one replica started here, the default and the durable mode of the lock and of the
// order book side by side on that same pair, each scenario's subjects in interleaved slices of
// SECONDS, ROUNDS times, and the median of the per-round ratios printed (steadier on a shared
// machine than suite rows, which also run the default mode without a replica). Usage:
//   node --import ./bench/lib/register.mjs bench/lock/durable-interleaved.ts [rounds] [seconds]
// (after `npm run build`: '@redkit/*' resolve to dist/, as in the suite).
import 'reflect-metadata';

import { LockService } from '@redkit/lock';
import { OrderBookStore, type OrderBookLevel } from '@redkit/orderbook';
import { RedisConnection } from '@redkit/redis';

import { median, rateOf } from '../lib/interleaved.js';
import { startExtraRedis, startReplicaOf } from '../lib/extra-redis.js';

const [roundsText = '5', secondsText = '1'] = process.argv.slice(2);
const ROUNDS = Number(roundsText);
const SECONDS = Number(secondsText);
const IN_FLIGHT = 64;
const KEYS = 10_000;
const BOOKS = 64;
const LEVELS = 1_000;
const MID_CENTS = 6_425_000;

const primary = await startExtraRedis();
const replica = await startReplicaOf(primary.url);
const open = (name: string) => RedisConnection.open(name, { url: primary.url });
const [plainLocks, durableLocks, plainBooks, durableBooks] = await Promise.all([
  open('locks'),
  open('durable-locks'),
  open('books'),
  open('durable-books'),
]);
const durability = { replicas: 1 };
const locks = {
  redkit: new LockService(plainLocks!, { ttlMs: 10_000, maxWaitMs: 30_000 }),
  'redkit-durable': new LockService(durableLocks!, { ttlMs: 10_000, maxWaitMs: 30_000, durability }),
};
const grid = { defaultSymbol: { tickSize: '0.01' } };
const stores = {
  redkit: new OrderBookStore(plainBooks!, grid),
  'redkit-durable': new OrderBookStore(durableBooks!, { ...grid, durability }),
};

const price = (cents: number) => (cents / 100).toFixed(2).replace(/\.?0+$/, '');
const level = (cents: number, index: number): OrderBookLevel => ({
  price: price(cents),
  quantity: `${(index % 50) + 1}.${(index * 7919) % 1_000}`,
});
const wholeBook = {
  bids: Array.from({ length: LEVELS }, (_, index) => level(MID_CENTS - 1 - index, index)),
  asks: Array.from({ length: LEVELS }, (_, index) => level(MID_CENTS + index, index)),
};
const delta = (round: number) => ({
  bids: Array.from({ length: 10 }, (_, index) => ({
    price: price(MID_CENTS - 1 - ((round * 3 + index * 7) % 40)),
    quantity: (round + index) % 4 === 0 ? '0' : `${(round % 9) + 1}.${index + 1}5`,
  })),
  asks: Array.from({ length: 10 }, (_, index) => ({
    price: price(MID_CENTS + ((round * 5 + index * 3) % 40)),
    quantity: (round + index) % 4 === 0 ? '0' : `${(round % 9) + 1}.${index + 1}5`,
  })),
});

type Subject = keyof typeof locks;
const subjects: Subject[] = ['redkit', 'redkit-durable'];
const sequences: Record<Subject, number[]> = {
  redkit: Array.from({ length: BOOKS }, () => 1),
  'redkit-durable': Array.from({ length: BOOKS }, () => 1),
};
const symbol = (subject: Subject, book: number) => `${subject}-${book}`;
for (const subject of subjects) {
  await Promise.all(
    sequences[subject].map((_, book) =>
      stores[subject].saveSnapshot(symbol(subject, book), { sequence: 1, ...wholeBook }),
    ),
  );
}

const scenarios: Record<string, (subject: Subject) => (seq: number) => Promise<unknown>> = {
  uncontended: (subject) => async (seq) => {
    const lock = await locks[subject].acquire(`uncontended:${seq % KEYS}`);
    await lock.release();
  },
  'delta-20': (subject) => (seq) => {
    const book = seq % BOOKS;
    const next = (sequences[subject][book]! += 1);
    return stores[subject].applyDelta(symbol(subject, book), { sequence: next, ...delta(seq) });
  },
  'save-1000': (subject) => (seq) => {
    const book = seq % BOOKS;
    const next = (sequences[subject][book]! += 1);
    return stores[subject].saveSnapshot(symbol(subject, book), { sequence: next, ...wholeBook });
  },
};

const lines = [
  `| scenario | redkit ops/s | redkit-durable ops/s | durable / default (median of ${ROUNDS} rounds) |`,
  '|---|---:|---:|---:|',
];
for (const [name, make] of Object.entries(scenarios)) {
  const rates: Record<Subject, number[]> = { redkit: [], 'redkit-durable': [] };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate which goes first, so neither always follows the other's leftovers.
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const subject of order) rates[subject].push(await rateOf(make(subject), SECONDS, IN_FLIGHT));
    ratios.push(rates['redkit-durable'].at(-1)! / rates.redkit.at(-1)!);
    process.stderr.write(`[durable] ${name} round ${round + 1}: ${ratios.at(-1)!.toFixed(2)}\n`);
  }
  lines.push(
    `| ${name} | ${Math.round(median(rates.redkit)).toLocaleString('en-US')} | ` +
      `${Math.round(median(rates['redkit-durable'])).toLocaleString('en-US')} | ${median(ratios).toFixed(2)}× |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);

await Promise.all([plainLocks, durableLocks, plainBooks, durableBooks].map((each) => each!.close()));
await replica.stop();
await primary.stop();
