import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  LockModule,
  LockNotAcquiredError,
  LockOptionsError,
  UpgradeNotSupportedError,
  WithReadLock,
  WithSemaphore,
  WithWriteLock,
} from '@redkit/lock';
import { getRedisConnectionToken, RedisModule, type RedisConnection } from '@redkit/redis';

import { sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, sleep, uniquePrefix } from './lock-test-kit.js';

/** Calls running at once, across every app of the test (the instances share Redis, not memory). */
class Gauge {
  now = 0;
  max = 0;
  async during<T>(ms: number, value: T): Promise<T> {
    this.now += 1;
    this.max = Math.max(this.max, this.now);
    await sleep(ms);
    this.now -= 1;
    return value;
  }
}

const exports = new Gauge();
const tenants = new Map<string, Gauge>();
const anyTenant = new Gauge();
const catalog = { readers: 0, maxReaders: 0, writers: 0, overlaps: 0 };

@Injectable()
class Work {
  @WithSemaphore({ semaphore: 'exports', limit: 2, maxWaitMs: 10_000 })
  exportReport(id: number): Promise<number> {
    return exports.during(20, id);
  }

  @WithSemaphore({ semaphore: 'tenant:{0}', limit: 1, maxWaitMs: 10_000 })
  async perTenant(tenant: string): Promise<string> {
    let gauge = tenants.get(tenant);
    if (gauge === undefined) tenants.set(tenant, (gauge = new Gauge()));
    anyTenant.now += 1;
    anyTenant.max = Math.max(anyTenant.max, anyTenant.now);
    await gauge.during(30, tenant);
    anyTenant.now -= 1;
    return tenant;
  }

  @WithSemaphore({ semaphore: 'heavy', limit: 4, permits: 3, maxWaitMs: 200 })
  async heavy(ms: number): Promise<void> {
    await sleep(ms);
  }

  @WithReadLock({ resource: 'catalog:{0}', maxWaitMs: 10_000 })
  async read(sku: string): Promise<string> {
    catalog.readers += 1;
    catalog.maxReaders = Math.max(catalog.maxReaders, catalog.readers);
    if (catalog.writers > 0) catalog.overlaps += 1;
    await sleep(15);
    catalog.readers -= 1;
    return sku;
  }

  @WithWriteLock({ resource: 'catalog:{0}', maxWaitMs: 10_000 })
  async write(sku: string): Promise<string> {
    catalog.writers += 1;
    if (catalog.readers > 0 || catalog.writers > 1) catalog.overlaps += 1;
    await sleep(15);
    catalog.writers -= 1;
    return sku;
  }

  @WithReadLock({ resource: 'catalog:{0}' })
  async readThenWrite(sku: string): Promise<string> {
    return this.write(sku);
  }
}

describe('@WithSemaphore, @WithReadLock and @WithWriteLock across 2 instances', () => {
  const keyPrefix = uniquePrefix('coorddec');
  const apps: INestApplication[] = [];

  async function startApp(provider: new () => object): Promise<INestApplication> {
    @Module({
      imports: [RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }), LockModule.forRoot()],
      providers: [provider],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
    return app;
  }

  beforeAll(async () => {
    apps.push(await startApp(Work), await startApp(Work));
  });

  afterAll(async () => {
    if (apps[0]) await deleteKeys(apps[0].get<RedisConnection>(getRedisConnectionToken()), keyPrefix);
    for (const app of apps) await app.close();
  });

  const work = (index: number) => apps[index % apps.length]!.get(Work);

  it('never runs more calls of one semaphore at once than its limit, across instances', async () => {
    const ids = Array.from({ length: 24 }, (_, id) => id);
    expect(await Promise.all(ids.map((id) => work(id).exportReport(id)))).toEqual(ids);
    expect(exports.max).toBe(2);
  });

  it('fills a templated name from the arguments: one semaphore per tenant', async () => {
    const calls = ['a', 'b', 'a', 'b', 'a', 'b'].map((tenant, index) => work(index).perTenant(tenant));
    await Promise.all(calls);
    expect(tenants.get('a')?.max).toBe(1);
    expect(tenants.get('b')?.max).toBe(1);
    // Each tenant's calls ran one at a time, but the two tenants side by side.
    expect(anyTenant.max).toBe(2);
  });

  it('holds `permits` per call: a second 3-of-4 call waits, and gives up after maxWaitMs', async () => {
    const first = work(0).heavy(600);
    await sleep(50);
    await expect(work(1).heavy(0)).rejects.toThrow(LockNotAcquiredError);
    await first;
    await expect(work(1).heavy(0)).resolves.toBeUndefined();
  });

  it('lets readers share and keeps writers alone, across instances', async () => {
    const calls = Array.from({ length: 30 }, (_, index) =>
      index % 5 === 0 ? work(index).write('sku-1') : work(index).read('sku-1'),
    );
    await Promise.all(calls);
    expect(catalog.overlaps).toBe(0);
    expect(catalog.maxReaders).toBeGreaterThan(1);
  });

  it('refuses a write inside a read of the same resource instead of deadlocking', async () => {
    await expect(work(0).readThenWrite('sku-2')).rejects.toThrow(UpgradeNotSupportedError);
    // Nothing was left held: a write goes through at once.
    await expect(work(1).write('sku-2')).resolves.toBe('sku-2');
  });

  it('fails at startup naming the method and the option', async () => {
    @Injectable()
    class TooSmall {
      @WithSemaphore({ semaphore: 'bad', limit: 0 })
      run(): Promise<void> {
        return Promise.resolve();
      }
    }
    @Injectable()
    class TooMany {
      @WithSemaphore({ semaphore: 'bad', limit: 2, permits: 3 })
      run(): Promise<void> {
        return Promise.resolve();
      }
    }
    @Injectable()
    class BadWait {
      @WithWriteLock({ resource: 'bad', maxWaitMs: -1 })
      run(): Promise<void> {
        return Promise.resolve();
      }
    }
    const cases: [new () => object, RegExp][] = [
      [TooSmall, /@WithSemaphore on TooSmall\.run: option "limit"/],
      [TooMany, /@WithSemaphore on TooMany\.run: option "permits"/],
      [BadWait, /@WithReadLock \/ @WithWriteLock on BadWait\.run: option "maxWaitMs"/],
    ];
    for (const [provider, message] of cases) {
      const started = startApp(provider);
      await expect(started).rejects.toThrow(LockOptionsError);
      await expect(started).rejects.toThrow(message);
    }
  });
});
