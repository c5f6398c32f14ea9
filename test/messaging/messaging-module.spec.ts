import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  EventBus,
  MessagingModule,
  OnEvent,
  StreamHandler,
  StreamInspector,
  StreamProducer,
  type EventEnvelope,
  type StreamMessage,
} from '@redkit/messaging';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { RedisConnection, RedisModule } from '@redkit/redis';

import { eventually, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, metricValue, uniquePrefix } from './messaging-test-kit.js';

@Injectable()
class TradeListener {
  readonly trades: EventEnvelope[] = [];
  readonly markets: string[] = [];
  readonly orders: StreamMessage<{ id: string }>[] = [];

  @OnEvent('trade.executed')
  onTrade(event: EventEnvelope): void {
    this.trades.push(event);
  }

  @OnEvent('market.*')
  @OnEvent('ticker.*')
  onMarket(event: EventEnvelope): void {
    this.markets.push(event.type);
  }

  @StreamHandler('orders', 'billing', { blockMs: 200 })
  async bill(message: StreamMessage<{ id: string }>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.orders.push(message);
  }
}

@Injectable()
class BadListener {
  @OnEvent('market.[ab]')
  onMarket(): void {}
}

describe('MessagingModule in a Nest application', () => {
  const keyPrefix = uniquePrefix('module');
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRootAsync({
          useFactory: () => ({ source: 'orders-api', consumers: { retryDelayMs: 10 } }),
        }),
      ],
      providers: [TradeListener],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(async () => {
    const connection = await RedisModuleCleanup.open(keyPrefix);
    await deleteKeys(connection, keyPrefix);
    await connection.close();
  });

  it('subscribes @OnEvent methods and starts @StreamHandler consumers', async () => {
    const listener = app.get(TradeListener);
    const bus = app.get(EventBus);
    const producer = app.get(StreamProducer);
    await bus.publish('trade.executed', { price: '10' });
    await bus.publish('market.BTC', {});
    await bus.publish('ticker.ETH', {});
    for (let n = 0; n < 5; n++) await producer.publish('orders', 'order.placed', { id: `o${n}` });
    await eventually(() => {
      expect(listener.trades).toHaveLength(1);
      expect([...listener.markets].sort()).toEqual(['market.BTC', 'ticker.ETH']);
      expect(listener.orders).toHaveLength(5);
    });
    expect(listener.trades[0]?.source).toBe('orders-api');
    expect(listener.orders[0]?.data).toEqual({ id: 'o0' });
    const metrics = app.get(MetricsService);
    await eventually(async () =>
      expect(
        await metricValue(metrics, 'redkit_stream_messages_total{stream="orders",outcome="acked"}'),
      ).toBe(5),
    );
  });

  it('finishes and acks in-flight entries when the application closes', async () => {
    const listener = app.get(TradeListener);
    const producer = app.get(StreamProducer);
    const inspector = app.get(StreamInspector);
    const before = listener.orders.length;
    for (let n = 0; n < 3; n++) await producer.publish('orders', 'order.placed', { id: `late${n}` });
    await eventually(async () => {
      const [group] = (await inspector.stats('orders')).groups;
      expect(group?.pending).toBeGreaterThan(0);
    });
    const key = producer.keyOf('orders');
    await app.close();
    expect(listener.orders.length).toBeGreaterThan(before);
    // The app's connection is closed now; look with a fresh one.
    const fresh = await RedisModuleCleanup.open(keyPrefix);
    const pending = (await fresh.client.xpending(key, 'billing')) as [number];
    await fresh.close();
    expect(pending[0]).toBe(0);
  });
});

describe('MessagingModule with a bad @OnEvent pattern', () => {
  it('fails at startup, naming the method', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RedisModule.forRoot({ url: sharedRedisUrl() }), MessagingModule.forRoot()],
      providers: [BadListener],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await expect(app.init()).rejects.toThrow(/@OnEvent on BadListener.onMarket/);
    } finally {
      await app.close();
    }
  });
});

const RedisModuleCleanup = {
  open: (keyPrefix: string) => RedisConnection.open('cleanup', { url: sharedRedisUrl(), keyPrefix }),
};
