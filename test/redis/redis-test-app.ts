import { Controller, Get, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RedisHealthIndicator, RedisModule, type RedisModuleOptions } from '@redkit/redis';

@Controller()
class HealthProbeController {
  constructor(private readonly health: RedisHealthIndicator) {}

  @Get('health')
  check() {
    return this.health.isHealthy('redis');
  }
}

/** A small Nest app with one Redis connection; the caller closes it. */
export async function createRedisTestApp(
  options: RedisModuleOptions,
  extra: DynamicModule[] = [],
): Promise<INestApplication> {
  @Module({ imports: [RedisModule.forRoot(options), ...extra], controllers: [HealthProbeController] })
  class RedisTestModule {}
  const moduleRef = await Test.createTestingModule({ imports: [RedisTestModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** Runs `fn` until it stops throwing or `timeoutMs` passes; returns its last result. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
