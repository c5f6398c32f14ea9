import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RateLimit, RateLimitModule, RateLimitOptionsError } from '@redkit/rate-limit';
import { RedisModule } from '@redkit/redis';

import { sharedRedisUrl } from '../harness/index.js';

/** Boots an application context with one controller and returns what startup threw, if anything. */
async function startupError(controller: new () => unknown): Promise<unknown> {
  @Module({
    imports: [RedisModule.forRoot({ url: sharedRedisUrl() }), RateLimitModule.forRoot()],
    controllers: [controller],
  })
  class AppModule {}
  try {
    const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.init().finally(() => app.close());
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('@RateLimit options', () => {
  it('fail the startup naming the controller, the method and the option', async () => {
    @Controller('bad')
    class BadLimits {
      @Get()
      @RateLimit({ name: 'reads', limit: -5, windowMs: 1_000 })
      read() {
        return 'never';
      }
    }
    const error = await startupError(BadLimits);
    expect(error).toBeInstanceOf(RateLimitOptionsError);
    expect((error as Error).message).toMatch(/@RateLimit on BadLimits\.read \(limit reads\): limit/);
  });

  it('on a controller class with a bad key fail the startup too', async () => {
    @Controller('bad-key')
    @RateLimit({ name: 'all', limit: 5, windowMs: 1_000, key: 'session' as never })
    class BadKey {
      @Get()
      read() {
        return 'never';
      }
    }
    const error = await startupError(BadKey);
    expect((error as Error).message).toMatch(/@RateLimit on BadKey \(limit all\)/);
  });

  it('that are valid let the application start', async () => {
    @Controller('good')
    class GoodLimits {
      @Get()
      @RateLimit({ name: 'reads', limit: 5, windowMs: 1_000 })
      read() {
        return 'ok';
      }
    }
    expect(await startupError(GoodLimits)).toBeUndefined();
  });
});
