import { Module } from '@nestjs/common';

import { RedisConfigurableModule } from './redis.module-definition.js';

/**
 * Connections to Redis. Import once per connection; the default connection has no name.
 *
 * @example
 * imports: [
 *   RedisModule.forRoot({ url: process.env.REDIS_URL }),
 *   RedisModule.forRootAsync({ name: 'pubsub', useFactory: (config: ConfigService) => ({ url: config.get('PUBSUB_URL') }), inject: [ConfigService] }),
 * ]
 */
@Module({})
export class RedisModule extends RedisConfigurableModule {}
