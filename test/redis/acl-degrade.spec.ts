import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, cacheAclManifest } from '@redkit/cache';
import { LockModule, LockNotAcquiredError, LockService, lockAclManifest } from '@redkit/lock';
import { MessagingModule, StreamProducer, messagingAclManifest } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { OrderBookModule, OrderBookStore, orderBookAclManifest } from '@redkit/orderbook';
import { RateLimitModule, RateLimiterService, rateLimitAclManifest } from '@redkit/rate-limit';
import {
  aclSetUserArguments,
  RedisHealthIndicator,
  RedisModule,
  RedisPermissionError,
  redisAclManifest,
} from '@redkit/redis';
import { Redis } from 'ioredis';

import { captureLogs, eventually, RedisServer, type NestLogEntry } from '../harness/index.js';

/**
 * One command taken away from a user made by the manifests: the module that needs it fails with a
 * RedisPermissionError naming itself and the rule to grant, follows its degrade policy, and the
 * connection's health says so.
 */
describe('a least-privilege user missing one command', () => {
  let server: RedisServer;
  let admin: Redis;
  const user = 'degraded';
  const password = 'degraded-secret';

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url, { enableReadyCheck: false });
  });

  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });

  /** An app of the five modules connecting as `user`, who has every manifest command but `removed` (if given). */
  async function appWithout(removed?: string): Promise<INestApplication> {
    const spec = {
      prefix: 'degrade',
      user,
      manifests: [
        cacheAclManifest,
        rateLimitAclManifest,
        lockAclManifest,
        orderBookAclManifest,
        messagingAclManifest,
      ],
    };
    await admin.call(
      'ACL',
      'SETUSER',
      ...aclSetUserArguments(spec, redisAclManifest),
      `>${password}`,
      ...(removed === undefined ? [] : [`-${removed}`]),
    );
    @Module({
      imports: [
        RedisModule.forRoot({
          url: `redis://${user}:${password}@${new URL(server.url).host}`,
          keyPrefix: 'degrade',
        }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        CacheModule.forRoot({ ttlMs: 60_000 }),
        RateLimitModule.forRoot({}),
        LockModule.forRoot({ ttlMs: 5_000, maxWaitMs: 200 }),
        OrderBookModule.forRoot({ symbols: { 'BTC-USD': { tickSize: '0.5', quantityDecimals: 2 } } }),
        MessagingModule.forRoot({}),
      ],
      providers: [RedisHealthIndicator],
    })
    class DegradedAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [DegradedAppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  const refusalLogs = (logs: NestLogEntry[]) =>
    logs.filter((entry) => entry.level === 'error' && entry.message.includes('the Redis ACL user may not'));

  it('without GET the cache answers from the loader, logs the refusal once and reports it in health', async () => {
    const app = await appWithout('get');
    try {
      const logs = await captureLogs(async () => {
        const cache = app.get(CacheService);
        expect(await cache.getOrSet('book', async () => ({ from: 'loader' }))).toEqual({ from: 'loader' });
        expect(await cache.getOrSet('other', async () => ({ from: 'loader' }))).toEqual({ from: 'loader' });
      });
      expect(refusalLogs(logs).map((entry) => entry.message)).toEqual([
        'cache: the Redis ACL user may not run GET; grant it with "+get" (npx redkit acl --check lists all that is missing)',
      ]);
      const health = await app.get(RedisHealthIndicator).isHealthy('redis');
      expect(health.redis).toMatchObject({ status: 'down', refused: ['cache: +get'] });
    } finally {
      await app.close();
    }
  });

  it("without APPEND the limiter's packed-log script is refused and the check follows the fail mode (open)", async () => {
    const app = await appWithout('append');
    try {
      const logs = await captureLogs(async () => {
        const outcome = await app
          .get(RateLimiterService)
          .consume('client-1', { name: 'api', limit: 5, windowMs: 1_000 });
        expect(outcome).toMatchObject({ allowed: true, source: 'fail-open' });
      });
      const [refusal] = refusalLogs(logs);
      expect(refusal?.message).toMatch(
        /^rate-limit: the Redis ACL user may not run a command of script ratelimit_packed_log \(it runs APPEND.*\); grant it with "\+append.*"/,
      );
      const health = await app.get(RedisHealthIndicator).isHealthy('redis');
      expect(health.redis.status).toBe('down');
      // The connection's preflight named the one command the script lacks.
      expect(health.redis.refused).toEqual(['rate-limit: +append']);
    } finally {
      await app.close();
    }
  });

  it('without INCRBY a lock is not acquired: LockNotAcquiredError caused by the RedisPermissionError', async () => {
    const app = await appWithout('incrby');
    try {
      let error: unknown;
      await captureLogs(async () => {
        error = await app
          .get(LockService)
          .acquire('order-42')
          .catch((caught: unknown) => caught);
      });
      expect(error).toBeInstanceOf(LockNotAcquiredError);
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(RedisPermissionError);
      expect(cause).toMatchObject({ module: 'lock' });
      expect((cause as RedisPermissionError).rule).toContain('+incrby');
      const health = await app.get(RedisHealthIndicator).isHealthy('redis');
      expect(health.redis.refused?.[0]).toMatch(/^lock: .*\+incrby/);
    } finally {
      await app.close();
    }
  });

  it('without ZADD an order-book write is refused with a RedisPermissionError and nothing is written', async () => {
    const app = await appWithout('zadd');
    try {
      let error: unknown;
      await captureLogs(async () => {
        error = await app
          .get(OrderBookStore)
          .saveSnapshot('BTC-USD', { sequence: 1, bids: [{ price: '100.5', quantity: '2' }], asks: [] })
          .catch((caught: unknown) => caught);
      });
      expect(error).toBeInstanceOf(RedisPermissionError);
      expect(error).toMatchObject({ module: 'orderbook' });
      expect((error as RedisPermissionError).rule).toContain('+zadd');
      expect(await app.get(OrderBookStore).getSnapshot('BTC-USD')).toBeNull();
      const health = await app.get(RedisHealthIndicator).isHealthy('redis');
      expect(health.redis.refused?.[0]).toMatch(/^orderbook: .*\+zadd/);
    } finally {
      await app.close();
    }
  });

  it('loses ZADD while connected: after the reconnect a snapshot write is refused before it runs, and the book written before stays whole', async () => {
    const app = await appWithout();
    try {
      const books = app.get(OrderBookStore);
      const before = {
        sequence: 1,
        bids: [{ price: '100.5', quantity: '2' }],
        asks: [{ price: '101', quantity: '1' }],
      };
      await books.saveSnapshot('BTC-USD', before);
      // Redis runs a script up to a refused command and keeps what it wrote: the snapshot script
      // clears both sides before its ZADD. Refused before it is sent, nothing of it runs.
      await admin.call('ACL', 'SETUSER', user, '-zadd');
      await admin.call('CLIENT', 'KILL', 'USER', user);
      let error: unknown;
      await captureLogs(async () => {
        await eventually(async () => {
          error = await books
            .saveSnapshot('BTC-USD', { sequence: 2, bids: [{ price: '99', quantity: '5' }], asks: [] })
            .catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(RedisPermissionError);
        });
      });
      expect(error).toMatchObject({ module: 'orderbook', rule: '+zadd' });
      expect(await books.getSnapshot('BTC-USD')).toMatchObject(before);
    } finally {
      await app.close();
    }
  });

  it('without XADD a stream publish rejects with a RedisPermissionError and nothing is appended', async () => {
    const app = await appWithout('xadd');
    try {
      let error: unknown;
      await captureLogs(async () => {
        error = await app
          .get(StreamProducer)
          .publish('orders', 'order.placed', { id: 1 })
          .catch((caught: unknown) => caught);
      });
      expect(error).toBeInstanceOf(RedisPermissionError);
      expect(error).toMatchObject({ module: 'messaging', refused: 'run XADD', rule: '+xadd' });
      const health = await app.get(RedisHealthIndicator).isHealthy('redis');
      expect(health.redis.refused).toEqual(['messaging: +xadd']);
    } finally {
      await app.close();
    }
  });
});
