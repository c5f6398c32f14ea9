import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  FencedOutError,
  FencedStore,
  LockModule,
  LockNotAcquiredError,
  LockOptionsError,
  LockService,
  WithLock,
} from '@redkit/lock';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { getRedisConnectionToken, RedisModule, type RedisConnection } from '@redkit/redis';

import { PlaceholderConnectionModule, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, metricValue, sleep, uniquePrefix } from './lock-test-kit.js';

@Injectable()
class Orders {
  running = 0;
  maxRunning = 0;
  fences: number[] = [];

  constructor(private readonly locks: LockService) {}

  @WithLock({ resource: 'orders:{0}', ttlMs: 2_000, maxWaitMs: 5_000 })
  async settle(orderId: string, ms: number): Promise<string> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await sleep(ms);
    this.running -= 1;
    return `settled ${orderId}`;
  }

  @WithLock({ resource: 'book:{0.symbol}', maxWaitMs: 100, retryDelayMs: 20 })
  async match(order: { symbol: string }): Promise<string> {
    await sleep(400);
    return order.symbol;
  }

  @WithLock({ resource: (id: unknown) => `fn:${String(id)}` })
  async byFunction(id: string): Promise<boolean> {
    // Held while the method runs: nobody else gets it.
    return (await this.locks.tryAcquire(`fn:${id}`)) === null;
  }
}

describe('LockModule with @WithLock', () => {
  const keyPrefix = uniquePrefix('lockmod');
  let app: INestApplication;

  beforeAll(async () => {
    @Module({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        MetricsModule.forRoot({}),
        LockModule.forRoot({ ttlMs: 5_000 }),
      ],
      providers: [Orders],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(async () => {
    if (!app) return;
    await deleteKeys(app.get<RedisConnection>(getRedisConnectionToken()), keyPrefix);
    await app.close();
  });

  it('runs decorated calls on one resource one at a time, and others side by side', async () => {
    const orders = app.get(Orders);
    const results = await Promise.all([
      orders.settle('a', 30),
      orders.settle('a', 30),
      orders.settle('a', 30),
    ]);
    expect(results).toEqual(['settled a', 'settled a', 'settled a']);
    expect(orders.maxRunning).toBe(1);
    orders.maxRunning = 0;
    await Promise.all([orders.settle('x', 50), orders.settle('y', 50)]);
    expect(orders.maxRunning).toBe(2);
  });

  it('provides FencedStore on the same connection, for writes only the current holder makes', async () => {
    const fenced = app.get(FencedStore);
    const locks = app.get(LockService);
    await locks.using('doc:1', (_signal, lock) => fenced.set('doc:1', 'v1', lock.fencingToken));
    await expect(fenced.set('doc:1', 'stale', 1)).rejects.toBeInstanceOf(FencedOutError);
    expect(await fenced.get('doc:1')).toBe('v1');
  });

  it('throws LockNotAcquiredError when the lock cannot be had in time', async () => {
    const orders = app.get(Orders);
    const first = orders.match({ symbol: 'BTC-USD' });
    await sleep(50);
    await expect(orders.match({ symbol: 'BTC-USD' })).rejects.toBeInstanceOf(LockNotAcquiredError);
    await expect(first).resolves.toBe('BTC-USD');
  });

  it('takes the resource from a function of the arguments', async () => {
    await expect(app.get(Orders).byFunction('42')).resolves.toBe(true);
  });

  it('counts acquisitions in redkit_lock_acquire_total', async () => {
    const metrics = app.get(MetricsService);
    expect(await metricValue(metrics, 'redkit_lock_acquire_total{outcome="acquired"}')).toBeGreaterThan(0);
    // The match that timed out, and byFunction's tryAcquire while it held the lock.
    expect(await metricValue(metrics, 'redkit_lock_acquire_total{outcome="not_acquired"}')).toBe(2);
    expect(await metrics.metrics()).toContain('redkit_lock_hold_seconds_count');
  });

  it('fails at startup naming a bad option', async () => {
    @Module({ imports: [PlaceholderConnectionModule, LockModule.forRoot({ ttlMs: -1 })] })
    class BadModule {}
    const moduleRef = Test.createTestingModule({ imports: [BadModule] }).compile();
    await expect(moduleRef).rejects.toThrow(LockOptionsError);
    await expect(Test.createTestingModule({ imports: [BadModule] }).compile()).rejects.toThrow(/"ttlMs"/);
  });
});
