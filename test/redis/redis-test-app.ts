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
