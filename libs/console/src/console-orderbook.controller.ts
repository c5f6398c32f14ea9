import { Get, Inject, Param, Query } from '@nestjs/common';

import type { OrderBookLadder } from './console-api.types.js';
import { nameParam, wholeNumber } from './console-input.js';
import { OrderBookView } from './orderbook.view.js';

/** The order-book ladder of one symbol, and the symbols with a book. */
export class ConsoleOrderBookController {
  constructor(@Inject(OrderBookView) private readonly books: OrderBookView) {}

  @Get('api/orderbook')
  symbols(): Promise<{ symbols: string[] }> {
    return this.books.listSymbols();
  }

  @Get('api/orderbook/:symbol')
  ladder(@Param('symbol') symbol: string, @Query('depth') depth?: string): Promise<OrderBookLadder> {
    return this.books.ladder(nameParam('symbol', symbol, 200), wholeNumber('depth', depth, 1, 50, 20));
  }
}
