import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BookNotFoundError,
  CrossedBookError,
  InvalidLevelError,
  OrderBookValidationError,
  SequenceGapError,
  StaleSequenceError,
  UnknownSymbolError,
  bookChecksum,
  type OrderBookModuleOptions,
} from '@redkit/orderbook';

import { eventually, sharedTopologies } from '../harness/index.js';
import {
  deleteKeys,
  levels,
  metricValue,
  openStore,
  uniquePrefix,
  type StoreInstance,
} from './orderbook-test-kit.js';

const OPTIONS: OrderBookModuleOptions = {
  symbols: { 'BTC-USD': { tickSize: '0.01', quantityDecimals: 8 } },
  defaultSymbol: { tickSize: '0.01' },
  maxDepth: 20_000,
};

/** What an error a promise rejects with is, or fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe.each(sharedTopologies)('OrderBookStore on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('book');
  let a: StoreInstance;
  let b: StoreInstance;

  beforeAll(async () => {
    a = await openStore({ ...redis(), keyPrefix }, OPTIONS);
    b = await openStore({ ...redis(), keyPrefix }, OPTIONS);
  });

  afterAll(async () => {
    if (a) await deleteKeys(a.connection, keyPrefix);
    await a?.close();
    await b?.close();
  });

  it('round-trips a 10,000-level snapshot exactly, decimals unchanged', async () => {
    const bids = levels(10_000, 5_000_000, -1, 1);
    const asks = levels(10_000, 5_000_001, 1, 2);
    const saved = await a.store.saveSnapshot('big', { sequence: 1, bids, asks });
    expect(saved).toEqual({ symbol: 'big', sequence: 1, bidLevels: 10_000, askLevels: 10_000 });
    const read = await b.store.getSnapshot('big', 10_000);
    expect(read?.bids).toEqual(bids);
    expect(read?.asks).toEqual(asks);
    expect(read?.sequence).toBe(1);
    expect(read?.checksum).toBe(
      bookChecksum(
        bids.map((level) => `${level.price}:${level.quantity}`),
        asks.map((level) => `${level.price}:${level.quantity}`),
      ),
    );
  });

  it('normalises decimals so "1.50" and "1.5" are one level, and reads top, spread and mid exactly', async () => {
    await a.store.saveSnapshot('norm', {
      sequence: 10,
      bids: [
        { price: '0100.10', quantity: '1.50' },
        { price: '100.00', quantity: '2' },
      ],
      asks: [{ price: '100.25', quantity: '0.00012000' }],
    });
    await a.store.applyDelta('norm', { sequence: 11, bids: [{ price: '100.1', quantity: '3.0' }], asks: [] });
    const book = await b.store.getSnapshot('norm', 5);
    expect(book?.bids).toEqual([
      { price: '100.1', quantity: '3' },
      { price: '100', quantity: '2' },
    ]);
    expect(book?.asks).toEqual([{ price: '100.25', quantity: '0.00012' }]);
    const top = await b.store.getTop('norm');
    expect(top).toMatchObject({
      symbol: 'norm',
      sequence: 11,
      bestBid: { price: '100.1', quantity: '3' },
      bestAsk: { price: '100.25', quantity: '0.00012' },
      spread: '0.15',
      mid: '100.175',
    });
    expect(Math.abs((top?.updatedAt ?? 0) - Date.now())).toBeLessThan(60_000);
    const meta = await a.connection.client.hgetall(`${keyPrefix}:orderbook:{norm}:meta`);
    expect(meta).toMatchObject({ seq: '11', bestBid: '100.1', bestAsk: '100.25' });
  });

  it('applies deltas in sequence: updates, removals, and refuses gaps and stale sequences without changing anything', async () => {
    const okSeries = 'redkit_orderbook_writes_total{op="delta",outcome="ok"}';
    const okBefore = await metricValue(a.metrics, okSeries);
    await a.store.saveSnapshot('seq', { sequence: 5, bids: levels(3, 1000, -1), asks: levels(3, 1001, 1) });
    const result = await a.store.applyDelta('seq', {
      sequence: 6,
      bids: [{ price: '10', quantity: '0' }],
      asks: [{ price: '10.05', quantity: '7' }],
    });
    expect(result).toEqual({ symbol: 'seq', sequence: 6, bidLevels: 2, askLevels: 4 });
    const before = await a.store.getSnapshot('seq', 10);

    const gap = await rejection(
      a.store.applyDelta('seq', { sequence: 8, bids: [], asks: [{ price: '11', quantity: '1' }] }),
    );
    expect(gap).toBeInstanceOf(SequenceGapError);
    expect(gap).toMatchObject({
      code: 'ORDERBOOK_SEQUENCE_GAP',
      current: 6,
      expected: 7,
      received: 8,
      httpStatus: 409,
    });
    const stale = await rejection(
      a.store.applyDelta('seq', { sequence: 6, bids: [], asks: [{ price: '11', quantity: '1' }] }),
    );
    expect(stale).toBeInstanceOf(StaleSequenceError);
    expect(stale).toMatchObject({ code: 'ORDERBOOK_STALE_SEQUENCE', current: 6, received: 6 });
    const older = await rejection(a.store.saveSnapshot('seq', { sequence: 3, bids: [], asks: [] }));
    expect(older).toBeInstanceOf(StaleSequenceError);

    expect(await a.store.getSnapshot('seq', 10)).toEqual(before);
    expect(await metricValue(a.metrics, 'redkit_orderbook_writes_total{op="delta",outcome="gap"}')).toBe(1);
    expect(await metricValue(a.metrics, 'redkit_orderbook_writes_total{op="delta",outcome="stale"}')).toBe(1);
    expect(await metricValue(a.metrics, okSeries)).toBe(okBefore + 1);
  });

  it('applies exactly one of two deltas racing with the same sequence, from two instances', async () => {
    await a.store.saveSnapshot('race', { sequence: 100, bids: [{ price: '1', quantity: '1' }], asks: [] });
    for (let round = 1; round <= 25; round += 1) {
      const sequence = 100 + round;
      const outcomes = await Promise.allSettled([
        a.store.applyDelta('race', { sequence, bids: [{ price: '1', quantity: `${round}.1` }], asks: [] }),
        b.store.applyDelta('race', { sequence, bids: [{ price: '1', quantity: `${round}.2` }], asks: [] }),
      ]);
      const applied = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(applied).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(StaleSequenceError);
      const winner = outcomes[0].status === 'fulfilled' ? `${round}.1` : `${round}.2`;
      expect((await a.store.getSnapshot('race', 1))?.bids).toEqual([{ price: '1', quantity: winner }]);
    }
  });

  it('answers the same from the top string and from the sorted sets, whatever depth the writer kept', async () => {
    const narrow = await openStore({ ...redis(), keyPrefix }, { ...OPTIONS, topDepth: 10 });
    const none = await openStore({ ...redis(), keyPrefix }, { ...OPTIONS, topDepth: 0 });
    try {
      await narrow.store.saveSnapshot('views', {
        sequence: 1,
        bids: levels(80, 9000, -1),
        asks: levels(80, 9001, 1),
      });
      await narrow.store.applyDelta('views', {
        sequence: 2,
        bids: [{ price: '89.95', quantity: '0' }],
        asks: [],
      });
      for (const depth of [1, 10, 11, 30, 200]) {
        // `narrow` kept 10 levels: up to 10 its top string answers, deeper reads use the sorted sets.
        const fromTop = await a.store.getSnapshot('views', depth);
        const fromSets = await none.store.getSnapshot('views', depth);
        expect(fromTop).toEqual(fromSets);
        expect(fromTop?.bids).toHaveLength(Math.min(depth, 79));
        expect(fromTop?.sequence).toBe(2);
      }
      await none.store.applyDelta('views', {
        sequence: 3,
        bids: [{ price: '90', quantity: '5' }],
        asks: [],
      });
      // A writer that keeps no top string removes it, so no reader finds a stale one.
      expect((await a.store.getSnapshot('views', 1))?.bids).toEqual([{ price: '90', quantity: '5' }]);
    } finally {
      await narrow.close();
      await none.close();
    }
  });

  it('reuses the parse of an unchanged book without sharing mutable state, and parses again after a write', async () => {
    await a.store.saveSnapshot('reuse', {
      sequence: 1,
      bids: levels(30, 5000, -1),
      asks: levels(30, 5001, 1),
    });
    const first = await b.store.getSnapshot('reuse', 20);
    const second = await b.store.getSnapshot('reuse', 20);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(second?.bids).not.toBe(first?.bids);
    expect(Object.isFrozen(second?.bids[0])).toBe(true);
    first?.bids.pop();
    expect((await b.store.getSnapshot('reuse', 20))?.bids).toHaveLength(20);
    await a.store.applyDelta('reuse', { sequence: 2, bids: [{ price: '50', quantity: '9' }], asks: [] });
    const changed = await b.store.getSnapshot('reuse', 20);
    expect(changed?.bids[0]).toEqual({ price: '50', quantity: '9' });
    expect(changed?.checksum).not.toBe(first?.checksum);
    const plain = await openStore({ ...redis(), keyPrefix }, { ...OPTIONS, reuseParsedReads: false });
    try {
      const fresh = await plain.store.getSnapshot('reuse', 20);
      expect(fresh).toEqual(changed);
      expect(Object.isFrozen(fresh?.bids[0])).toBe(false);
    } finally {
      await plain.close();
    }
  });

  it('accepts any higher sequence in greater mode', async () => {
    const loose = await openStore({ ...redis(), keyPrefix }, { ...OPTIONS, sequenceMode: 'greater' });
    try {
      await loose.store.saveSnapshot('loose', { sequence: 1, bids: [], asks: [] });
      await loose.store.applyDelta('loose', { sequence: 7, bids: [{ price: '2', quantity: '1' }], asks: [] });
      expect((await loose.store.getTop('loose'))?.sequence).toBe(7);
      await expect(
        loose.store.applyDelta('loose', { sequence: 7, bids: [], asks: [] }),
      ).rejects.toBeInstanceOf(StaleSequenceError);
    } finally {
      await loose.close();
    }
  });

  it('refuses invalid input with a typed error naming the field, and leaves the book unchanged', async () => {
    await a.store.saveSnapshot('bad', { sequence: 1, bids: levels(5, 1000, -1), asks: levels(5, 1001, 1) });
    const before = await a.store.getSnapshot('bad', 10);
    const cases: Array<[unknown, RegExp, string]> = [
      [{ price: 'NaN', quantity: '1' }, /NaN/, 'bids[1].price'],
      [{ price: '9', quantity: '-1' }, /negative/, 'bids[1].quantity'],
      [{ price: '1'.repeat(40), quantity: '1' }, /characters long|significant digits/, 'bids[1].price'],
      [{ price: '9.999', quantity: '1' }, /tick size/, 'bids[1].price'],
    ];
    for (const [level, reason, field] of cases) {
      // The first level is valid: one bad level refuses the whole write.
      const write = { sequence: 2, bids: [{ price: '9.5', quantity: '1' }, level], asks: [] } as never;
      for (const attempt of [a.store.applyDelta('bad', write), a.store.saveSnapshot('bad', write)]) {
        const error = await rejection(attempt);
        expect(error).toBeInstanceOf(InvalidLevelError);
        expect(error).toMatchObject({ code: 'ORDERBOOK_INVALID_LEVEL', field, httpStatus: 400 });
        expect(error.message).toMatch(reason);
      }
    }
    const empty = await rejection(a.store.saveSnapshot('', { sequence: 2, bids: [], asks: [] }));
    expect(empty).toBeInstanceOf(OrderBookValidationError);
    expect(empty).toMatchObject({ field: 'symbol', code: 'ORDERBOOK_INVALID_INPUT' });
    const sequence = await rejection(a.store.applyDelta('bad', { sequence: 2.5, bids: [], asks: [] }));
    expect(sequence).toMatchObject({ field: 'sequence' });

    // 10.01 is the best ask: a bid there would cross, as would removing all asks below a bid of 10.03.
    const crossed = await rejection(
      a.store.applyDelta('bad', { sequence: 2, bids: [{ price: '10.01', quantity: '1' }], asks: [] }),
    );
    expect(crossed).toBeInstanceOf(CrossedBookError);
    expect(crossed).toMatchObject({ code: 'ORDERBOOK_CROSSED', bestBid: '10.01', bestAsk: '10.01' });
    const crossedByRemoval = await rejection(
      a.store.applyDelta('bad', {
        sequence: 2,
        bids: [{ price: '10.03', quantity: '4' }],
        asks: [
          { price: '10.01', quantity: '0' },
          { price: '10.02', quantity: '0' },
        ],
      }),
    );
    expect(crossedByRemoval).toBeInstanceOf(CrossedBookError);
    const crossedSnapshot = await rejection(
      a.store.saveSnapshot('bad', {
        sequence: 2,
        bids: [{ price: '5', quantity: '1' }],
        asks: [{ price: '4', quantity: '1' }],
      }),
    );
    expect(crossedSnapshot).toBeInstanceOf(CrossedBookError);

    expect(await a.store.getSnapshot('bad', 10)).toEqual(before);
    // The sequence is still free: the refused writes did not consume it.
    await a.store.applyDelta('bad', { sequence: 2, bids: [{ price: '9.5', quantity: '1' }], asks: [] });
    expect(await metricValue(a.metrics, 'redkit_orderbook_writes_total{op="delta",outcome="crossed"}')).toBe(
      2,
    );
  });

  it('refuses a delta for a book that does not exist', async () => {
    await expect(a.store.applyDelta('nobook', { sequence: 1, bids: [], asks: [] })).rejects.toBeInstanceOf(
      BookNotFoundError,
    );
    expect(await a.store.getSnapshot('nobook', 5)).toBeNull();
    expect(await a.store.getTop('nobook')).toBeNull();
  });

  it('refuses unknown symbols when no defaultSymbol is configured', async () => {
    const strict = await openStore({ ...redis(), keyPrefix }, { symbols: OPTIONS.symbols });
    try {
      const error = await rejection(
        strict.store.saveSnapshot('DOGE-USD', { sequence: 1, bids: [], asks: [] }),
      );
      expect(error).toBeInstanceOf(UnknownSymbolError);
      expect(error).toMatchObject({ code: 'ORDERBOOK_UNKNOWN_SYMBOL' });
      await strict.store.saveSnapshot('BTC-USD', { sequence: 1, bids: [], asks: [] });
    } finally {
      await strict.close();
    }
  });

  it('lists live books by SCAN, decoding symbols with key-unsafe characters, and deletes them', async () => {
    const symbols = ['list:A/B', 'list{tag}*', 'list%20x'];
    for (const symbol of symbols) await a.store.saveSnapshot(symbol, { sequence: 1, bids: [], asks: [] });
    const listed = await b.store.listSymbols();
    for (const symbol of symbols) expect(listed).toContain(symbol);
    expect(await b.store.delete('list%20x')).toBe(true);
    expect(await b.store.delete('list%20x')).toBe(false);
    expect(await b.store.listSymbols()).not.toContain('list%20x');
    expect(await b.store.getSnapshot('list%20x', 1)).toBeNull();
  });

  it('expires idle books, and a write refreshes the idle TTL', async () => {
    const short = await openStore({ ...redis(), keyPrefix }, { ...OPTIONS, idleTtlMs: 600 });
    try {
      await short.store.saveSnapshot('idle', {
        sequence: 1,
        bids: [{ price: '1', quantity: '1' }],
        asks: [{ price: '2', quantity: '1' }],
      });
      await short.store.saveSnapshot('busy', {
        sequence: 1,
        bids: [{ price: '1', quantity: '1' }],
        asks: [],
      });
      const keys = await short.connection.client.pttl(`${keyPrefix}:orderbook:{idle}:asks`);
      expect(keys).toBeGreaterThan(0);
      expect(await short.store.listSymbols()).toEqual(expect.arrayContaining(['idle', 'busy']));
      let sequence = 1;
      await eventually(
        async () => {
          sequence += 1;
          await short.store.applyDelta('busy', {
            sequence,
            bids: [{ price: '1', quantity: String(sequence) }],
            asks: [],
          });
          expect(await short.store.getSnapshot('idle', 5)).toBeNull();
        },
        5_000,
        100,
      );
      const listed = await short.store.listSymbols();
      expect(listed).toContain('busy');
      expect(listed).not.toContain('idle');
    } finally {
      await short.close();
    }
  });

  it('samples the level counts of the last write and times reads', async () => {
    await a.store.saveSnapshot('gauge', { sequence: 1, bids: levels(7, 500, -1), asks: levels(3, 501, 1) });
    await a.store.getSnapshot('gauge', 2);
    expect(await metricValue(a.metrics, 'redkit_orderbook_levels{side="bid"}')).toBe(7);
    expect(await metricValue(a.metrics, 'redkit_orderbook_levels{side="ask"}')).toBe(3);
    expect(
      await metricValue(a.metrics, 'redkit_orderbook_read_duration_seconds_count{op="snapshot"}'),
    ).toBeGreaterThanOrEqual(1);
  });
});
