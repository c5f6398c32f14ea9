import type { OrderBookLevel } from './orderbook-levels.js';

/** A whole book or a delta, as a writer sends it. Levels are `{ price, quantity }` decimal strings. */
export interface OrderBookWrite {
  /** The feed's sequence number: a safe integer from 0. */
  sequence: number;
  bids: readonly OrderBookLevel[];
  asks: readonly OrderBookLevel[];
}

/** What a successful write left behind. */
export interface OrderBookWriteResult {
  symbol: string;
  sequence: number;
  /** Levels per side after the write. */
  bidLevels: number;
  askLevels: number;
}

/** Best prices of a book, read in one consistent step. */
export interface OrderBookTop {
  symbol: string;
  sequence: number;
  /** When the book was last written, in ms since the epoch (the Redis server's clock). */
  updatedAt: number;
  bestBid: OrderBookLevel | null;
  bestAsk: OrderBookLevel | null;
  /** `bestAsk.price - bestBid.price`, exact; null when a side is empty. */
  spread: string | null;
  /** `(bestBid.price + bestAsk.price) / 2`, exact (one decimal more when needed); null when a side is empty. */
  mid: string | null;
}

/** The top `depth` levels of both sides and the metadata, all from one script: one consistent view. */
export interface OrderBookSnapshot extends OrderBookTop {
  /** The depth asked for; a side may hold fewer levels. */
  depth: number;
  /** Best (highest) first. */
  bids: OrderBookLevel[];
  /** Best (lowest) first. */
  asks: OrderBookLevel[];
  /**
   * CRC-32 (IEEE, unsigned) of the levels returned, interleaved `bid:ask` best first as
   * `price:quantity`, joined by `:`; see the README for the exact format.
   */
  checksum: number;
}
