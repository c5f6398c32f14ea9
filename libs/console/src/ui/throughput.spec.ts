import { describe, expect, it } from '@jest/globals';

import { ThroughputStore } from './throughput.js';
import type { ThroughputBody } from './types.js';

/** A store over a fixed history, with no push channel. */
async function storeWith(body: ThroughputBody): Promise<ThroughputStore> {
  const store = new ThroughputStore({
    api: { get: async () => body } as never,
    live: { subscribe: () => () => undefined } as never,
  });
  await store.load();
  return store;
}

const history: ThroughputBody = {
  intervalMs: 1_000,
  points: 3,
  streams: {
    orders: {
      at: [1_000, 2_000],
      added: [1, 2],
      acked: [1, 2],
      retried: [0, 0],
      deadLettered: [0, 0],
      p50Ms: [3, null],
      p95Ms: [9, null],
    },
    invoices: {
      at: [2_000],
      added: [5],
      acked: [4],
      retried: [1],
      deadLettered: [0],
      p50Ms: [1],
      p95Ms: [2],
    },
  },
};

describe('ThroughputStore', () => {
  it('appends the pushed point per stream, as the server sends it, and keeps `points` of them', async () => {
    const store = await storeWith(structuredClone(history));
    const point = (at: number, added: number) => ({
      stream: 'orders',
      at,
      added,
      acked: added,
      retried: 0,
      deadLettered: 0,
      p50Ms: 4,
      p95Ms: 8,
    });
    store.applyPoint({ at: 3_000, streams: { orders: point(3_000, 3) } });
    store.applyPoint({ at: 4_000, streams: { orders: point(4_000, 4) } });
    expect(store.series('orders')?.at).toEqual([2_000, 3_000, 4_000]);
    expect(store.series('orders')?.added).toEqual([2, 3, 4]);
    expect(store.series('orders')?.p95Ms).toEqual([null, 8, 8]);
  });

  it('replaces a repeated second, ignores an older one, and starts a stream it did not know', async () => {
    const store = await storeWith(structuredClone(history));
    store.applyPoint({
      orders: { at: 2_000, added: 7, acked: 7, retried: 0, deadLettered: 0, p50Ms: null, p95Ms: null },
    });
    store.applyPoint({
      orders: { at: 1_500, added: 99, acked: 0, retried: 0, deadLettered: 0, p50Ms: null, p95Ms: null },
    });
    store.applyPoint({
      at: 2_000,
      streams: { shipments: { added: 1, acked: 1, retried: 0, deadLettered: 0 } },
    });
    expect(store.series('orders')?.added).toEqual([1, 7]);
    expect(store.series('shipments')).toMatchObject({ at: [2_000], added: [1], p50Ms: [null] });
  });

  it('adds the rates of all streams up, second by second', async () => {
    const store = await storeWith(structuredClone(history));
    const total = store.total();
    expect(total.at).toEqual([1_000, 2_000]);
    expect(total.rates[0]).toEqual([1, 7]); // added
    expect(total.rates[2]).toEqual([0, 1]); // retried
  });
});
