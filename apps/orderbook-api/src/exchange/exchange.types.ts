/** Side of an order: `buy` rests on the bids, `sell` on the asks. */
export type OrderSide = 'buy' | 'sell';

/** `open` and `partially_filled` orders rest on the book. */
export type OrderStatus = 'open' | 'partially_filled' | 'filled' | 'cancelled';

/** An order as the API shows it: exact decimal strings, ISO times. */
export interface Order {
  id: string;
  symbol: string;
  side: OrderSide;
  price: string;
  quantity: string;
  filledQuantity: string;
  remainingQuantity: string;
  status: OrderStatus;
  clientOrderId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One fill: a taker order against a resting (maker) order, at the maker's price. */
export interface Trade {
  id: string;
  symbol: string;
  price: string;
  quantity: string;
  /** The side of the incoming order: `buy` means the buyer lifted an ask. */
  takerSide: OrderSide;
  makerOrderId: string;
  takerOrderId: string;
  time: string;
}

/** A price level of the book. */
export interface BookLevel {
  price: string;
  quantity: string;
}

/** What `POST /markets/:symbol/orders` answers. */
export interface PlaceOrderResult {
  order: Order;
  /** Trades this order made as it arrived (empty for a duplicate). */
  trades: Trade[];
  /** True when the clientOrderId had been used: `order` is the original, nothing new was placed. */
  duplicate: boolean;
}

/** A new limit order, with price and quantity as decimal strings. */
export interface NewOrder {
  side: OrderSide;
  price: string;
  quantity: string;
  clientOrderId?: string;
}

/** Data of the `trade.executed` event. */
export interface TradeExecutedEvent {
  symbol: string;
  trade: Trade;
}

/** Data of the `book.updated` event: changed levels (quantity "0" removes one), or a whole book. */
export interface BookUpdatedEvent {
  symbol: string;
  sequence: number;
  /** True when `bids` and `asks` are the whole book (after an import), not a delta. */
  snapshot: boolean;
  bids: BookLevel[];
  asks: BookLevel[];
}

/** Event types the exchange publishes on the event bus. */
export const TRADE_EXECUTED = 'trade.executed';
export const BOOK_UPDATED = 'book.updated';

/** Cache tag of everything cached about one market (book depths, ticker). */
export function marketCacheTag(symbol: string): string {
  return `market:${symbol}`;
}
