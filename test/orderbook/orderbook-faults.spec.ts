import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { RedisServer, eventually } from '../harness/index.js';
import { metricValue, openStore, type StoreInstance } from './orderbook-test-kit.js';

describe('OrderBookStore while Redis is paused', () => {
  let server: RedisServer;
  let instance: StoreInstance;

  beforeAll(async () => {
    server = await RedisServer.start();
    instance = await openStore(
      { url: server.url, commandTimeoutMs: 200 },
      { defaultSymbol: { tickSize: '1' } },
    );
  });

  afterAll(async () => {
    server?.resume();
    await instance?.close();
    await server?.stop();
  });

  // A paused server never answers: the calls below settle only because commandTimeoutMs bounds them.
  it('fails reads and writes with the command timeout, counts them, and recovers after resume', async () => {
    const { store, metrics } = instance;
    await store.saveSnapshot('P', { sequence: 1, bids: [{ price: '1', quantity: '1' }], asks: [] });
    server.pause();
    try {
      await expect(store.getSnapshot('P', 5)).rejects.toThrow();
      await expect(
        store.applyDelta('P', { sequence: 2, bids: [{ price: '2', quantity: '1' }], asks: [] }),
      ).rejects.toThrow();
      expect(await metricValue(metrics, 'redkit_orderbook_writes_total{op="delta",outcome="error"}')).toBe(1);
    } finally {
      server.resume();
    }
    // The delta that timed out was never sent once the deadline passed, or ran whole: either way the
    // book is at a sequence a retry can reason about.
    await eventually(async () => {
      const book = await store.getSnapshot('P', 5);
      expect([1, 2]).toContain(book?.sequence);
    });
    const current = (await store.getTop('P'))!.sequence;
    await store.applyDelta('P', { sequence: current + 1, bids: [{ price: '3', quantity: '1' }], asks: [] });
    expect((await store.getSnapshot('P', 5))?.bids[0]).toEqual({ price: '3', quantity: '1' });
  });
});
