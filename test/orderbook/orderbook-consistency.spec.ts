import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OrderBookLevel } from '@redkit/orderbook';

import { sharedTopologies } from '../harness/index.js';
import {
  BookModel,
  deleteKeys,
  levels,
  openStore,
  uniquePrefix,
  type StoreInstance,
} from './orderbook-test-kit.js';

const SYMBOL = 'ETH-USD';
const DEPTHS = [5, 50, 500];
const WRITES = 120;
/** Every SNAPSHOT_EVERY-th write replaces the whole book; the others are 20-level deltas. */
const SNAPSHOT_EVERY = 5;
const SNAPSHOT_LEVELS = 1_000;
const READERS = 4;

interface Read {
  sequence: number;
  depth: number;
  checksum: number;
}

/** A whole book around `baseCents`: bids below it, asks from it up, quantities salted by `salt`. */
function wholeBook(baseCents: number, salt: number): { bids: OrderBookLevel[]; asks: OrderBookLevel[] } {
  return {
    bids: levels(SNAPSHOT_LEVELS, baseCents - 1, -1, salt),
    asks: levels(SNAPSHOT_LEVELS, baseCents, 1, salt + 1),
  };
}

/** 20 level changes near the top of a book around `baseCents`, some removals; never crossing. */
function delta(baseCents: number, round: number): { bids: OrderBookLevel[]; asks: OrderBookLevel[] } {
  const change = (cents: number, index: number): OrderBookLevel => ({
    price: (cents / 100).toFixed(2).replace(/\.?0+$/, ''),
    quantity: (round + index) % 4 === 0 ? '0' : `${round}.${index}1`,
  });
  return {
    bids: Array.from({ length: 10 }, (_, index) =>
      change(baseCents - 1 - ((round * 3 + index * 7) % 60), index),
    ),
    asks: Array.from({ length: 10 }, (_, index) => change(baseCents + ((round * 5 + index * 3) % 60), index)),
  };
}

describe.each(sharedTopologies)('OrderBookStore consistency on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('bookc');
  let writer: StoreInstance;
  let reader: StoreInstance;
  const options = { symbols: { [SYMBOL]: { tickSize: '0.01' } } };

  beforeAll(async () => {
    writer = await openStore({ ...redis(), keyPrefix }, options);
    reader = await openStore({ ...redis(), keyPrefix }, options);
  });

  afterAll(async () => {
    if (writer) await deleteKeys(writer.connection, keyPrefix);
    await writer?.close();
    await reader?.close();
  });

  it('never shows readers a mixed book while whole snapshots swap and deltas apply', async () => {
    const model = new BookModel();
    /** sequence -> depth -> checksum of the state that sequence left. */
    const written = new Map<number, Map<number, number>>();
    const record = (sequence: number) => written.set(sequence, model.checksums(DEPTHS));

    let base = 10_000;
    let sequence = 1;
    const first = wholeBook(base, 0);
    await writer.store.saveSnapshot(SYMBOL, { sequence, ...first });
    model.replace(first.bids, first.asks);
    record(sequence);

    let writing = true;
    const reads: Read[] = [];
    const readLoop = async (offset: number) => {
      for (let index = offset; writing; index += 1) {
        const depth = DEPTHS[index % DEPTHS.length] as number;
        const book = await reader.store.getSnapshot(SYMBOL, depth);
        if (book) reads.push({ sequence: book.sequence, depth, checksum: book.checksum });
      }
    };
    const readers = Array.from({ length: READERS }, (_, index) => readLoop(index));

    try {
      for (let round = 1; round <= WRITES; round += 1) {
        sequence += 1;
        if (round % SNAPSHOT_EVERY === 0) {
          // Alternate between two books far apart, so half of one and half of the other would show.
          base = base === 10_000 ? 20_000 : 10_000;
          const book = wholeBook(base, round);
          await writer.store.saveSnapshot(SYMBOL, { sequence, ...book });
          model.replace(book.bids, book.asks);
        } else {
          const change = delta(base, round);
          await writer.store.applyDelta(SYMBOL, { sequence, ...change });
          model.apply(change.bids, change.asks);
        }
        record(sequence);
      }
    } finally {
      writing = false;
      await Promise.all(readers);
    }

    expect(reads.length).toBeGreaterThan(WRITES);
    const mismatches = reads.filter((read) => written.get(read.sequence)?.get(read.depth) !== read.checksum);
    expect(mismatches).toEqual([]);
    // The readers really overlapped the writes: they saw many states, snapshots and deltas alike.
    expect(new Set(reads.map((read) => read.sequence)).size).toBeGreaterThan(WRITES / 4);
  });
});
