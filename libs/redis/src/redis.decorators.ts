import { Inject } from '@nestjs/common';

import { getRedisConnectionToken, getRedisToken } from './redis.constants.js';

/**
 * Injects the ioredis client (`Redis` or `Cluster`) of a named connection.
 *
 * @example
 * constructor(@InjectRedis() private readonly redis: RedisClient) {}
 */
export function InjectRedis(name?: string): ParameterDecorator & PropertyDecorator {
  return Inject(getRedisToken(name));
}

/** Injects the {@link RedisConnection} (client, options, key builder) of a named connection. */
export function InjectRedisConnection(name?: string): ParameterDecorator & PropertyDecorator {
  return Inject(getRedisConnectionToken(name));
}
