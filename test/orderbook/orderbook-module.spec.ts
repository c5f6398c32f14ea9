import { afterAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { OrderBookModule, OrderBookOptionsError, OrderBookStore } from '@redkit/orderbook';
import { RedisConnection, RedisModule } from '@redkit/redis';

import { PlaceholderConnectionModule, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, metricValue, uniquePrefix } from './orderbook-test-kit.js';

const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

describe('OrderBookModule', () => {
  const keyPrefix = uniquePrefix('bookm');
  const apps: INestApplicationContext[] = [];

  afterAll(async () => {
    const cleanup = await RedisConnection.open('cleanup', { url: sharedRedisUrl() });
    await deleteKeys(cleanup, keyPrefix);
    await cleanup.close();
    for (const opened of apps) await opened.close();
  });

  it('provides OrderBookStore through forRoot, with metrics on the app registry', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MetricsModule.forRoot({ defaultMetrics: false }),
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        OrderBookModule.forRoot({ symbols: { 'BTC-USD': { tickSize: '0.5' } } }),
      ],
    })
      .setLogger(silent)
      .compile();
    const app = await moduleRef.init();
    apps.push(app);
    const store = app.get(OrderBookStore);
    await store.saveSnapshot('BTC-USD', {
      sequence: 1,
      bids: [{ price: '10.5', quantity: '1' }],
      asks: [{ price: '11', quantity: '2' }],
    });
    expect((await store.getTop('BTC-USD'))?.spread).toBe('0.5');
    expect(
      await metricValue(app.get(MetricsService), 'redkit_orderbook_writes_total{op="snapshot",outcome="ok"}'),
    ).toBe(1);
  });

  it('takes its options from forRootAsync, on a named connection', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix, name: 'books' }),
        OrderBookModule.forRootAsync({
          connection: 'books',
          useFactory: async () => ({ defaultSymbol: { tickSize: '1' }, sequenceMode: 'greater' as const }),
        }),
      ],
    })
      .setLogger(silent)
      .compile();
    const app = await moduleRef.init();
    apps.push(app);
    const store = app.get(OrderBookStore);
    await store.saveSnapshot('ANY', { sequence: 3, bids: [], asks: [] });
    await store.applyDelta('ANY', { sequence: 9, bids: [{ price: '4', quantity: '1' }], asks: [] });
    expect((await store.getSnapshot('ANY', 1))?.bids).toEqual([{ price: '4', quantity: '1' }]);
  });

  it('fails at startup naming a bad option', async () => {
    const compiling = Test.createTestingModule({
      imports: [PlaceholderConnectionModule, OrderBookModule.forRoot({ symbols: { X: { tickSize: '-1' } } })],
    })
      .setLogger(silent)
      .compile();
    await expect(compiling).rejects.toThrow(OrderBookOptionsError);
    await expect(compiling).rejects.toThrow(/symbols\.X\.tickSize/);
  });
});
