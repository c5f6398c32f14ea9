import { Global, Module } from '@nestjs/common';
import { getRedisConnectionToken } from '@redkit/redis';

/**
 * Stands in for `RedisModule` in tests of option checks that fail at startup: the options are checked
 * before the connection is touched, and a failed startup would otherwise leave a real connection open
 * with no app to close it.
 */
@Global()
@Module({
  providers: [{ provide: getRedisConnectionToken(), useValue: {} }],
  exports: [getRedisConnectionToken()],
})
export class PlaceholderConnectionModule {}
