import { Get, Inject } from '@nestjs/common';

import type { RedisBody } from './console-api.types.js';
import { RedisView } from './redis.view.js';

/** The Redis servers, as the connection's server-metrics collector last sampled them. */
export class ConsoleRedisController {
  constructor(@Inject(RedisView) private readonly redis: RedisView) {}

  @Get('api/redis')
  body(): Promise<RedisBody> {
    return this.redis.body();
  }
}
