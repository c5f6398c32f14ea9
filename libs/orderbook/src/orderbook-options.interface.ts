import type { DurabilityOptions } from '@redkit/redis';

/** How prices and quantities of one symbol are checked. */
export interface OrderBookSymbolOptions {
  /**
   * The price grid, as a decimal string (`"0.01"`). Every price must be a whole multiple of it; the
   * sorted-set score of a level is `price / tickSize`, an integer, exact up to 2^53 ticks.
   */
  tickSize: string;
  /** Most decimals a quantity may have once normalised. Default 8. */
  quantityDecimals?: number;
  /**
   * Most significant digits (integer plus fraction, once normalised) a price or a quantity may have.
   * Default 24.
   */
  maxDigits?: number;
}

/** How a delta's sequence must relate to the book's. */
export type OrderBookSequenceMode = 'next' | 'greater';

/** Options of `OrderBookModule.forRoot` and of `new OrderBookStore(...)`. */
export interface OrderBookModuleOptions {
  /** Symbols and their grids. A symbol is 1-64 characters. */
  symbols?: Record<string, OrderBookSymbolOptions>;
  /**
   * Options for symbols not listed in `symbols`. Without it (the default), a write or a read of an
   * unlisted symbol throws `UnknownSymbolError`.
   */
  defaultSymbol?: OrderBookSymbolOptions;
  /**
   * A book nobody writes for this long expires (all its keys); every write refreshes it. 0 keeps
   * books until deleted. Default 86400000 (one day).
   */
  idleTtlMs?: number;
  /**
   * `next` (default): a delta must carry exactly the book's sequence + 1. `greater`: any higher
   * sequence is accepted (for feeds that skip numbers).
   */
  sequenceMode?: OrderBookSequenceMode;
  /** Accept writes that leave the best bid at or above the best ask. Default false. */
  allowCrossed?: boolean;
  /** Most levels per side in one snapshot or delta. Default 50000. */
  maxLevelsPerSide?: number;
  /** Largest `depth` a read may ask for. Default 5000. */
  maxDepth?: number;
  /**
   * Levels per side every write renders into the book's `top` string, in the same script. A read of
   * up to this depth is then one GET inside the read script instead of two ZRANGEs; deeper reads
   * use the sorted sets. Costs each write two ZRANGEs of this depth. 0 turns it off. Default 50.
   */
  topDepth?: number;
  /**
   * When a read's reply is identical to the previous read of that book at that depth (the book has
   * not changed), reuse its parse (levels, checksum, spread, mid) instead of parsing again. Every
   * read still asks Redis. Level objects are then frozen and shared between such reads; the
   * snapshot object and its arrays are always new. Default true.
   */
  reuseParsedReads?: boolean;
  /**
   * Durable mode, for books where losing a write in a failover is worse than waiting:
   * `saveSnapshot`, `applyDelta` and `delete` are each followed by `WAIT replicas timeoutMs` on the
   * connection, and resolve only once `replicas` replicas acknowledged the write; otherwise they
   * reject with `OrderBookDurabilityError` (the write may still stand on the primary: treat it as
   * unknown). WAIT blocks the connection while it waits: give the store a connection of its own.
   * Default off.
   */
  durability?: DurabilityOptions;
}

/** Module-level settings (Nest "extras"), given beside the options or beside `useFactory`. */
export interface OrderBookModuleExtras {
  /** Register `OrderBookStore` globally. Default true. */
  isGlobal: boolean;
  /** The RedisModule connection to use (its `name`). Default `default`. */
  connection: string;
}
