import { ConfigurableModuleBuilder } from '@nestjs/common';
import { connectedServiceExtras } from '@redkit/redis';

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
    connectedServiceExtras(OrderBookStore, ORDERBOOK_MODULE_OPTIONS),
  )
  .build();
