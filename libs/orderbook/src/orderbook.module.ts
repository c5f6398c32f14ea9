import { Module } from '@nestjs/common';

import { OrderBookConfigurableModule } from './orderbook.module-definition.js';
import { OrderBookStore } from './orderbook.store.js';

/**
 * The order-book store. Needs `RedisModule` (the connection named by the `connection` extra,
 * default `default`); uses `MetricsModule` when the app has it. Invalid options fail at startup
 * with `OrderBookOptionsError` naming the option.
 *
 * @example
 * imports: [
 *   RedisModule.forRoot({ url }),
 *   OrderBookModule.forRoot({ symbols: { 'BTC-USD': { tickSize: '0.01', quantityDecimals: 8 } } }),
 * ]
 */
@Module({ exports: [OrderBookStore] })
export class OrderBookModule extends OrderBookConfigurableModule {}
