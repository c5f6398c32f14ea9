import { afterAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RateLimitModule, RateLimiterService } from '@redkit/rate-limit';
import { RedisModule } from '@redkit/redis';

import { sharedRedisUrl } from '../harness/index.js';
import { uniquePrefix } from './rate-limit-test-kit.js';

describe('RateLimitModule', () => {
  const keyPrefix = uniquePrefix('rlmodule');
  const contexts: INestApplicationContext[] = [];

  afterAll(async () => {
    for (const context of contexts) await context.close();
  });

  async function start(rateLimit: ReturnType<typeof RateLimitModule.forRoot>) {
    @Module({ imports: [RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }), rateLimit] })
    class AppModule {}
    const context = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    });
    contexts.push(context);
    return context;
  }

  it('builds the limiter from forRootAsync options', async () => {
    const context = await start(
      RateLimitModule.forRootAsync({ useFactory: () => ({ algorithm: 'sliding-counter' as const }) }),
    );
    const limiter = context.get(RateLimiterService);
    const result = await limiter.consume('module-client', { name: 'module', limit: 1, windowMs: 60_000 });
    expect(result).toMatchObject({ allowed: true, source: 'redis' });
    expect(limiter.redisKey('module-client', { name: 'module', limit: 1, windowMs: 60_000 })).toBe(
      `${keyPrefix}:rate-limit:{module-client}:module:c`,
    );
    await limiter.reset('module-client');
  });
});
