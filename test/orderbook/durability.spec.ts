// Issue 19: durable order-book writes (`durability: { replicas, timeoutMs }`: saveSnapshot,
// applyDelta and delete each followed by WAIT) on a primary with one replica.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  OrderBookDurabilityError,
  OrderBookOptionsError,
  OrderBookStore,
  StaleSequenceError,
  type OrderBookModuleOptions,
} from '@redkit/orderbook';
import { Redis } from 'ioredis';

import type { RedisServer } from '../harness/index.js';
import {
  admin,
  waitCalls,
  startReplicatedPair,
  stopReplicatedPair,
  rejectedOption,
  waitUntilNoReplica,
  replicatedPairPerTest,
} from '../harness/replication.js';
import { metricValue, openStore, uniquePrefix, type StoreInstance } from './orderbook-test-kit.js';

const DURABILITY = { replicas: 1, timeoutMs: 300 };
const OPTIONS: OrderBookModuleOptions = { defaultSymbol: { tickSize: '0.01' }, durability: DURABILITY };
const PLAIN: OrderBookModuleOptions = { defaultSymbol: { tickSize: '0.01' } };
const BOOK = {
  bids: [{ price: '100.00', quantity: '2' }],
  asks: [{ price: '101.00', quantity: '3' }],
};

describe('durable order-book writes on a primary with one replica', () => {
  const keyPrefix = uniquePrefix('durablebook');
  const key = (symbol: string, part: string) => `${keyPrefix}:orderbook:{${symbol}}:${part}`;
  let primary: RedisServer;
  let replica: RedisServer;
  let onPrimary: Redis;
  let onReplica: Redis;
  let durable: StoreInstance;
  let plain: StoreInstance;

  beforeAll(async () => {
    ({ primary, replica, onPrimary, onReplica } = await startReplicatedPair());
    durable = await openStore({ url: primary.url, keyPrefix }, OPTIONS);
    plain = await openStore({ url: primary.url, keyPrefix }, PLAIN);
  });

  afterAll(async () => {
    await Promise.all([durable?.close(), plain?.close()]);
    await stopReplicatedPair({ primary, replica, onPrimary, onReplica });
  });

  it('refuses durability options it cannot meet, naming the option', () => {
    const option = (options: OrderBookModuleOptions) =>
      rejectedOption(() => new OrderBookStore(durable.connection, options), OrderBookOptionsError);
    expect(option({ durability: { replicas: 0 } })).toBe('durability.replicas');
    // Half the connection's commandTimeoutMs (1 000 ms here) at most.
    expect(option({ durability: { replicas: 1, timeoutMs: 600 } })).toBe('durability.timeoutMs');
    expect(option({ durability: { replicas: 1 } })).toBeUndefined();
  });

  describe('with the replica up', () => {
    it('resolves each write once the replica has it', async () => {
      await durable.store.saveSnapshot('BTC-USD', { sequence: 1, ...BOOK });
      expect(await onReplica.hget(key('BTC-USD', 'meta'), 'seq')).toBe('1');
      expect(await onReplica.zcard(key('BTC-USD', 'bids'))).toBe(1);

      await durable.store.applyDelta('BTC-USD', {
        sequence: 2,
        bids: [{ price: '100.50', quantity: '1' }],
        asks: [],
      });
      expect(await onReplica.hget(key('BTC-USD', 'meta'), 'seq')).toBe('2');
      expect(await onReplica.zcard(key('BTC-USD', 'bids'))).toBe(2);

      expect(await durable.store.delete('BTC-USD')).toBe(true);
      expect(await onReplica.exists(key('BTC-USD', 'meta'))).toBe(0);
      for (const op of ['snapshot', 'delta', 'delete']) {
        expect(
          await metricValue(
            durable.metrics,
            `redkit_orderbook_durability_total{op="${op}",outcome="acknowledged"}`,
          ),
        ).toBe(1);
      }
    });

    it('waits once for the writes of one turn', async () => {
      await onPrimary.config('RESETSTAT');
      const symbols = Array.from({ length: 20 }, (_, index) => `S${index}`);
      await Promise.all(
        symbols.map((symbol) => durable.store.saveSnapshot(symbol, { sequence: 1, ...BOOK })),
      );
      // The first write of a script on a server may need its source sent (NOSCRIPT): one more group.
      expect(await waitCalls(onPrimary)).toBeLessThanOrEqual(2);
      for (const symbol of symbols) expect(await onReplica.hget(key(symbol, 'meta'), 'seq')).toBe('1');
    });
  });

  describe('with the replica stopped', () => {
    beforeAll(async () => {
      await durable.store.saveSnapshot('ETH-USD', { sequence: 1, ...BOOK });
      await replica.kill();
      await waitUntilNoReplica(onPrimary);
    });

    it('rejects a snapshot, a delta and a delete the replica did not acknowledge, typed', async () => {
      const snapshot = await durable.store
        .saveSnapshot('ETH-USD', { sequence: 2, ...BOOK })
        .catch((error: unknown) => error);
      expect(snapshot).toBeInstanceOf(OrderBookDurabilityError);
      expect(snapshot).toMatchObject({
        symbol: 'ETH-USD',
        operation: 'snapshot',
        acknowledged: 0,
        replicas: 1,
        code: 'ORDERBOOK_UNREPLICATED',
        httpStatus: 503,
      });
      // Unknown, like a timeout: here it did land on the primary.
      expect((await durable.store.getTop('ETH-USD'))?.sequence).toBe(2);

      await expect(
        durable.store.applyDelta('ETH-USD', {
          sequence: 3,
          bids: [],
          asks: [{ price: '102.00', quantity: '1' }],
        }),
      ).rejects.toMatchObject({ operation: 'delta', acknowledged: 0 });
      await expect(durable.store.delete('ETH-USD')).rejects.toMatchObject({ operation: 'delete' });
      expect(
        await metricValue(
          durable.metrics,
          'redkit_orderbook_writes_total{op="snapshot",outcome="unreplicated"}',
        ),
      ).toBe(1);
      expect(
        await metricValue(
          durable.metrics,
          'redkit_orderbook_durability_total{op="delta",outcome="unacknowledged"}',
        ),
      ).toBe(1);
    });

    it('still refuses a write the book rejects, with nothing written to wait for', async () => {
      await plain.store.saveSnapshot('SOL-USD', { sequence: 5, ...BOOK });
      await expect(durable.store.saveSnapshot('SOL-USD', { sequence: 4, ...BOOK })).rejects.toBeInstanceOf(
        StaleSequenceError,
      );
      // Deleting what is not there removes nothing, so nothing needs acknowledging.
      expect(await durable.store.delete('NONE-USD')).toBe(false);
    });

    it('leaves the default mode as it was: no WAIT, writes at once', async () => {
      await onPrimary.config('RESETSTAT');
      await plain.store.saveSnapshot('XRP-USD', { sequence: 1, ...BOOK });
      await plain.store.applyDelta('XRP-USD', { sequence: 2, bids: [], asks: [] });
      expect(await plain.store.delete('XRP-USD')).toBe(true);
      expect(await waitCalls(onPrimary)).toBe(0);
    });
  });
});

describe('a durable order book across the failure of its primary', () => {
  const keyPrefix = uniquePrefix('failoverbook');
  const servers = replicatedPairPerTest();

  it('keeps every acknowledged write on the promoted replica', async () => {
    const durable = await openStore({ url: servers.primary.url, keyPrefix }, OPTIONS);
    servers.afterTest(() => durable.close());
    await durable.store.saveSnapshot('BTC-USD', { sequence: 10, ...BOOK });
    for (let sequence = 11; sequence <= 20; sequence += 1) {
      await durable.store.applyDelta('BTC-USD', {
        sequence,
        bids: [{ price: '99.00', quantity: String(sequence) }],
        asks: [],
      });
    }
    await servers.primary.kill();
    const onReplica = admin(servers.replica);
    try {
      await onReplica.call('REPLICAOF', 'NO', 'ONE');
    } finally {
      onReplica.disconnect();
    }
    const promoted = await openStore({ url: servers.replica.url, keyPrefix }, PLAIN);
    servers.afterTest(() => promoted.close());
    const book = await promoted.store.getSnapshot('BTC-USD', 5);
    expect(book?.sequence).toBe(20);
    expect(book?.bids).toEqual([
      { price: '100', quantity: '2' },
      { price: '99', quantity: '20' },
    ]);
  });
});
