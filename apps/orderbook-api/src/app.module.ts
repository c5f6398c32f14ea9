import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from '@redkit/cache';
import { LockModule } from '@redkit/lock';
import { MessagingModule } from '@redkit/messaging';
import { ConsoleModule } from '@redkit/console';
import { MetricsModule } from '@redkit/metrics';
import { OrderBookModule, type OrderBookSymbolOptions } from '@redkit/orderbook';
import { RateLimitGuard, RateLimitModule } from '@redkit/rate-limit';
import { CorrelationModule, RedisModule } from '@redkit/redis';

import type { AppConfig } from './app.config.js';
import { APP_CONFIG } from './app.constants.js';
import { DemoSeeder } from './demo/demo-seeder.js';
import { correlationIdsByDefault } from './http/correlation-default.js';
import { ExchangeService } from './exchange/exchange.service.js';
import { MarketStreamService } from './exchange/market-stream.service.js';
import { MarketsController } from './exchange/markets.controller.js';
import { HealthController } from './health.controller.js';
import { AdminApiKeyGuard } from './http/admin-api-key.guard.js';
import { ApiExceptionFilter } from './http/exception.filter.js';
import { createValidationPipe } from './http/validation.js';
import { DEFAULT_MARKETS } from './markets/market.js';
import { MarketRegistry } from './markets/market.registry.js';

/** The sample exchange: every redkit module, wired as a user would wire them. */
@Module({})
export class AppModule {
  static forConfig(config: AppConfig, extraControllers: Type[] = []): DynamicModule {
    const markets = new MarketRegistry(config.markets ?? DEFAULT_MARKETS);
    const symbols: Record<string, OrderBookSymbolOptions> = {};
    for (const market of markets.all()) {
      const lotDecimals = market.lot.step.split('.')[1]?.length ?? 0;
      symbols[market.symbol] = { tickSize: market.tick.step, quantityDecimals: lotDecimals };
    }
    const providers: Provider[] = [
      { provide: APP_CONFIG, useValue: config },
      { provide: MarketRegistry, useValue: markets },
      { provide: APP_PIPE, useFactory: createValidationPipe },
      { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ExchangeService,
      MarketStreamService,
      AdminApiKeyGuard,
      DemoSeeder,
    ];
    if (config.rateLimits !== false) providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
    return {
      module: AppModule,
      imports: [
        RedisModule.forRoot({ url: config.redisUrl, clientName: 'redkit-orderbook-api' }),
        // The server's own metrics (memory, evictions, clients, hit ratio) on a connection of their own.
        RedisModule.forRoot({
          name: 'server-metrics',
          url: config.redisMetricsUrl ?? config.redisUrl,
          clientName: 'redkit-orderbook-api:metrics',
          serverMetrics: true,
        }),
        MetricsModule.forRoot({ defaultMetrics: true }),
        // Every request's correlation id (traceparent, x-correlation-id, or new) on its log lines and
        // in its x-correlation-id answer; server spans while an OpenTelemetry SDK is registered.
        // By default only where AsyncLocalStorage is cheap (see correlation-default.ts).
        ...((config.correlationIds ?? correlationIdsByDefault()) ? [CorrelationModule.forRoot()] : []),
        TerminusModule,
        // Book and ticker entries are evicted on every change of the book; the TTL is the backstop.
        // Cached answers are sent as JSON text made once per entry, not serialized per response.
        CacheModule.forRoot({ ttlMs: 5_000, preserializedHits: true }),
        RateLimitModule.forRoot({
          headers: ['ratelimit-legacy', 'ietf'],
          trustProxy: config.trustProxy ?? false,
          // A client flooding past its limit is refused here for up to 1 s without asking Redis again.
          localRefusalMs: 1_000,
        }),
        LockModule.forRoot({ ttlMs: 5_000, maxWaitMs: 5_000 }),
        // The matching engine owns the book's lifetime: books do not expire.
        OrderBookModule.forRoot({ symbols, idleTtlMs: 0 }),
        MessagingModule.forRoot({}),
        // Streams, locks, limits, caches, events, Redis and the books at /console.
        ConsoleModule.forRoot(
          config.consoleApiKey === undefined ? {} : { mode: 'operate', apiKey: config.consoleApiKey },
        ),
      ],
      controllers: [HealthController, MarketsController, ...extraControllers],
      providers,
    };
  }
}
