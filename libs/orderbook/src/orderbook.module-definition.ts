import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import { getRedisConnectionToken, type RedisConnection } from '@redkit/redis';

import type { OrderBookModuleExtras, OrderBookModuleOptions } from './orderbook-options.interface.js';
import { OrderBookStore } from './orderbook.store.js';

/** Injection token of the options given to `OrderBookModule.forRoot`. */
export const ORDERBOOK_MODULE_OPTIONS = 'REDKIT:ORDERBOOK:MODULE_OPTIONS';

export const {
  ConfigurableModuleClass: OrderBookConfigurableModule,
  OPTIONS_TYPE: ORDERBOOK_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ORDERBOOK_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<OrderBookModuleOptions>({
  moduleName: 'OrderBook',
  optionsInjectionToken: ORDERBOOK_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<OrderBookModuleExtras>(
    { isGlobal: true, connection: 'default' },
    (definition, extras): DynamicModule => {
      // The connection is a declared dependency, so the store is built once that connection is open.
      const store: Provider = {
        provide: OrderBookStore,
        useFactory: (
          options: OrderBookModuleOptions,
          connection: RedisConnection,
          metrics?: MetricsService,
        ) => new OrderBookStore(connection, options, metrics),
        inject: [
          ORDERBOOK_MODULE_OPTIONS,
          getRedisConnectionToken(extras.connection),
          { token: MetricsService, optional: true },
        ],
      };
      return {
        ...definition,
        global: extras.isGlobal,
        providers: [...(definition.providers ?? []), store],
      };
    },
  )
  .build();
