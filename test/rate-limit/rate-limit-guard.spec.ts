import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  RateLimit,
  RateLimitGuard,
  RateLimitModule,
  RateLimiterService,
  SkipRateLimit,
} from '@redkit/rate-limit';
import { RedisModule } from '@redkit/redis';
import { Redis } from 'ioredis';
import request from 'supertest';

import { createHttpApp, HTTP_ADAPTERS, RedisServer } from '../harness/index.js';
import { sleep } from './rate-limit-test-kit.js';

const apiKey = (context: ExecutionContext): string =>
  String(context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-api-key']);

@Controller('orders')
@RateLimit({ name: 'orders-class', limit: 100, windowMs: 60_000 })
class OrdersController {
  @Get('plain')
  plain() {
    return { ok: true };
  }

  @Get('two')
  @RateLimit(
    { name: 'per-second', limit: 2, windowMs: 1_000 },
    { name: 'per-minute', limit: 5, windowMs: 60_000, algorithm: 'sliding-counter' },
  )
  two() {
    return { ok: true };
  }

  @Get('skip')
  @SkipRateLimit()
  skip() {
    return { ok: true };
  }

  @Get('only')
  @SkipRateLimit('orders-class')
  @RateLimit({ name: 'only', limit: 1, windowMs: 60_000 })
  only() {
    return { ok: true };
  }

  @Get('user')
  @RateLimit({ name: 'per-user', limit: 1, windowMs: 60_000, key: 'user' })
  user() {
    return { ok: true };
  }

  @Get('api')
  @RateLimit({ name: 'per-api-key', limit: 1, windowMs: 60_000, key: apiKey })
  api() {
    return { ok: true };
  }
}

@Controller('health')
@SkipRateLimit()
class HealthController {
  @Get()
  health() {
    return { ok: true };
  }
}

describe.each(HTTP_ADAPTERS)('RateLimitGuard as the app-wide guard on %s', (adapter) => {
  let server: RedisServer;
  let app: INestApplication;
  let admin: Redis;
  let limiter: RateLimiterService;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
    @Module({
      imports: [
        RedisModule.forRoot({ url: server.url }),
        RateLimitModule.forRoot({
          headers: ['ietf', 'ratelimit-legacy', 'x-ratelimit'],
          // One proxy (supertest's client is it): the right-most X-Forwarded-For address is the client.
          trustProxy: 1,
        }),
      ],
      controllers: [OrdersController, HealthController],
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    // Express-style middleware sets the user: on Fastify it writes to the raw Node request.
    app = await createHttpApp(moduleRef, adapter, { logger: ['error'] }, (created) =>
      created.use(
        (req: { headers: Record<string, string>; user?: unknown }, _res: unknown, next: () => void) => {
          if (req.headers['x-user']) req.user = { id: req.headers['x-user'] };
          next();
        },
      ),
    );
    limiter = app.get(RateLimiterService);
    // Loads the check script (its first run answers NOSCRIPT, then EVAL), so round trips count from here.
    await request(app.getHttpServer()).get('/orders/two').set('X-Forwarded-For', '10.9.9.9').expect(200);
  });

  afterAll(async () => {
    await app?.close();
    admin?.disconnect();
    await server?.stop();
  });

  async function evalshaCalls(): Promise<number> {
    const stats = await admin.info('commandstats');
    const match = /cmdstat_evalsha:calls=(\d+)/.exec(stats);
    const evals = /cmdstat_eval:calls=(\d+)/.exec(stats);
    return Number(match?.[1] ?? 0) + Number(evals?.[1] ?? 0);
  }

  const from = (address: string) =>
    request(app.getHttpServer()).get('/orders/two').set('X-Forwarded-For', address);

  it('decides two route limits and the class limit in one round trip; the stricter refuses and charges none', async () => {
    const before = await evalshaCalls();
    const first = await from('10.0.0.1').expect(200);
    expect(await evalshaCalls()).toBe(before + 1);
    expect(first.headers['ratelimit-policy']).toBe(
      '"orders-class";q=100;w=60, "per-second";q=2;w=1, "per-minute";q=5;w=60',
    );
    expect(first.headers['ratelimit']).toMatch(
      /^"orders-class";r=99;t=\d+, "per-second";r=1;t=1, "per-minute";r=4;t=\d+$/,
    );
    expect(first.headers['ratelimit-limit']).toBe('2');
    expect(first.headers['ratelimit-remaining']).toBe('1');
    expect(first.headers['x-ratelimit-limit']).toBe('2');
    expect(first.headers['x-ratelimit-remaining']).toBe('1');
    expect(Number(first.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    expect(first.headers['retry-after']).toBeUndefined();

    await from('10.0.0.1').expect(200);
    const refused = await from('10.0.0.1').expect(429);
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'Too Many Requests',
      limit: 'per-second',
      retryAfterSeconds: 1,
    });
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['ratelimit']).toMatch(/"per-second";r=0;t=1/);
    expect(refused.headers['ratelimit-remaining']).toBe('0');

    // The refused request was charged to none of the three limits.
    const identity = 'ip:10.0.0.1';
    expect(
      (
        await limiter.peek(identity, {
          name: 'per-minute',
          limit: 5,
          windowMs: 60_000,
          algorithm: 'sliding-counter',
        })
      ).remaining,
    ).toBe(3);
    expect(
      (await limiter.peek(identity, { name: 'orders-class', limit: 100, windowMs: 60_000 })).remaining,
    ).toBe(98);
    // Another client is not affected.
    await from('10.0.0.2').expect(200);
  });

  it('lets the looser limit refuse once the stricter one has recovered', async () => {
    for (let index = 0; index < 2; index += 1) await from('10.0.0.3').expect(200);
    await sleep(1_050);
    for (let index = 0; index < 2; index += 1) await from('10.0.0.3').expect(200);
    await sleep(1_050);
    await from('10.0.0.3').expect(200);
    const refused = await from('10.0.0.3').expect(429);
    expect(refused.body.limit).toBe('per-minute');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(1);
  });

  it('applies the class limit to every route, and @SkipRateLimit skips all or named limits', async () => {
    const plain = await request(app.getHttpServer())
      .get('/orders/plain')
      .set('X-Forwarded-For', '10.0.1.1')
      .expect(200);
    expect(plain.headers['ratelimit-policy']).toBe('"orders-class";q=100;w=60');

    const before = await evalshaCalls();
    const skipped = await request(app.getHttpServer()).get('/orders/skip').expect(200);
    const health = await request(app.getHttpServer()).get('/health').expect(200);
    expect(await evalshaCalls()).toBe(before);
    expect(skipped.headers['ratelimit-policy']).toBeUndefined();
    expect(health.headers['ratelimit']).toBeUndefined();

    const only = await request(app.getHttpServer())
      .get('/orders/only')
      .set('X-Forwarded-For', '10.0.1.1')
      .expect(200);
    expect(only.headers['ratelimit-policy']).toBe('"only";q=1;w=60');
    await request(app.getHttpServer()).get('/orders/only').set('X-Forwarded-For', '10.0.1.1').expect(429);
  });

  it('keys by user (falling back to the address), and by a function of the context', async () => {
    const server = app.getHttpServer();
    await request(server)
      .get('/orders/user')
      .set('X-Forwarded-For', '10.0.2.1')
      .set('X-User', 'alice')
      .expect(200);
    // Same user from another address: still alice.
    await request(server)
      .get('/orders/user')
      .set('X-Forwarded-For', '10.0.2.2')
      .set('X-User', 'alice')
      .expect(429);
    // Another user from alice's address: not alice.
    await request(server)
      .get('/orders/user')
      .set('X-Forwarded-For', '10.0.2.1')
      .set('X-User', 'bob')
      .expect(200);
    // Anonymous: by address, apart from the users.
    await request(server).get('/orders/user').set('X-Forwarded-For', '10.0.2.1').expect(200);
    await request(server).get('/orders/user').set('X-Forwarded-For', '10.0.2.1').expect(429);

    await request(server)
      .get('/orders/api')
      .set('X-Forwarded-For', '10.0.3.1')
      .set('X-Api-Key', 'k1')
      .expect(200);
    await request(server)
      .get('/orders/api')
      .set('X-Forwarded-For', '10.0.3.2')
      .set('X-Api-Key', 'k1')
      .expect(429);
    await request(server)
      .get('/orders/api')
      .set('X-Forwarded-For', '10.0.3.1')
      .set('X-Api-Key', 'k2')
      .expect(200);
    // A key that looks like another client's identity stays in its own namespace.
    await request(server).get('/orders/api').set('X-Api-Key', 'ip:10.0.3.9').expect(200);
    await request(server).get('/orders/user').set('X-Forwarded-For', '10.0.3.9').expect(200);
  });
});
