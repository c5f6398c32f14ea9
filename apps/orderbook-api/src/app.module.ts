import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MetricsModule } from '@redkit/metrics';
import { RedisModule } from '@redkit/redis';

import type { AppConfig } from './app.config.js';
import { HealthController } from './health.controller.js';

/** The sample exchange: every redkit module, wired as a user would wire them. */
@Module({})
export class AppModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RedisModule.forRoot({ url: config.redisUrl, clientName: 'redkit-orderbook-api' }),
        MetricsModule.forRoot({ defaultMetrics: true }),
        TerminusModule,
      ],
      controllers: [HealthController],
    };
  }
}
