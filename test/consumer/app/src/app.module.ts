import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CacheModule } from '@redkit/cache';
import { ConsoleModule } from '@redkit/console';
import { LockModule } from '@redkit/lock';
import { MessagingModule } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { OrderBookModule } from '@redkit/orderbook';
import { RateLimitGuard, RateLimitModule } from '@redkit/rate-limit';
import { RedisModule } from '@redkit/redis';

import { ActivityService } from './activity.service.js';
import { AppController } from './app.controller.js';
import { CountersService } from './counters.service.js';
import { QuotesService } from './quotes.service.js';

@Module({})
export class AppModule {
  static forRoot(url: string, keyPrefix: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RedisModule.forRootAsync({ useFactory: () => ({ url, keyPrefix }) }),
        MetricsModule.forRoot(),
        CacheModule.forRoot(),
        RateLimitModule.forRoot(),
        LockModule.forRoot(),
        OrderBookModule.forRoot({ symbols: { 'BTC-USD': { tickSize: '0.01' } } }),
        MessagingModule.forRoot({ consumers: { blockMs: 100 } }),
        ConsoleModule.forRoot({}),
      ],
      controllers: [AppController],
      providers: [
        QuotesService,
        CountersService,
        ActivityService,
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}
