/** Stable machine-readable codes of {@link OrderBookError}s, for API responses and alerts. */
export type OrderBookErrorCode =
  | 'ORDERBOOK_OPTIONS'
  | 'ORDERBOOK_INVALID_INPUT'
  | 'ORDERBOOK_INVALID_LEVEL'
  | 'ORDERBOOK_UNKNOWN_SYMBOL'
  | 'ORDERBOOK_NOT_FOUND'
  | 'ORDERBOOK_SEQUENCE_GAP'
  | 'ORDERBOOK_STALE_SEQUENCE'
  | 'ORDERBOOK_CROSSED'
  | 'ORDERBOOK_UNREPLICATED';

/**
 * Base class of every error libs/orderbook throws. `code` is stable across versions; `httpStatus` is
 * the status an HTTP API should answer with (400 for bad input, 404 for a missing book, 409 for a
 * write that conflicts with the book's state).
 */
export class OrderBookError extends Error {
  constructor(
    readonly code: OrderBookErrorCode,
    readonly httpStatus: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option given to `OrderBookModule` is invalid; the message names it. Thrown at startup. */
export class OrderBookOptionsError extends OrderBookError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super('ORDERBOOK_OPTIONS', 500, `OrderBookModule option "${option}" ${reason}`);
  }
}

/**
 * An argument is invalid (symbol, sequence, depth, or the shape of the write); `field` names it,
 * `reason` says why. Nothing was written.
 */
export class OrderBookValidationError extends OrderBookError {
  constructor(
    readonly field: string,
    readonly reason: string,
    code: OrderBookErrorCode = 'ORDERBOOK_INVALID_INPUT',
  ) {
    super(code, 400, `${field} ${reason}`);
  }
}

/**
 * A price level of a write is invalid: not a decimal, negative, too long, too precise, off the tick
 * grid, a duplicate price. `field` reads like `bids[3].price`. The whole write was refused.
 */
export class InvalidLevelError extends OrderBookValidationError {
  constructor(field: string, reason: string) {
    super(field, reason, 'ORDERBOOK_INVALID_LEVEL');
  }
}

/** The symbol is not configured and no `defaultSymbol` options accept unknown ones. */
export class UnknownSymbolError extends OrderBookError {
  constructor(readonly symbol: string) {
    super('ORDERBOOK_UNKNOWN_SYMBOL', 400, `unknown symbol ${JSON.stringify(symbol)}`);
  }
}

/** A delta was sent for a book that does not exist (never saved, deleted, or expired). */
export class BookNotFoundError extends OrderBookError {
  constructor(readonly symbol: string) {
    super(
      'ORDERBOOK_NOT_FOUND',
      404,
      `no order book for ${JSON.stringify(symbol)}: save a snapshot before applying deltas`,
    );
  }
}

/** A delta skipped sequences: the book is at `current`, the delta needed `expected` and came with `received`. */
export class SequenceGapError extends OrderBookError {
  constructor(
    readonly symbol: string,
    readonly current: number,
    readonly received: number,
  ) {
    super(
      'ORDERBOOK_SEQUENCE_GAP',
      409,
      `sequence gap on ${JSON.stringify(symbol)}: the book is at ${current}, expected ${current + 1}, got ${received}`,
    );
  }

  /** The sequence the delta should have had. */
  get expected(): number {
    return this.current + 1;
  }
}

/** A write's sequence is not newer than the book's: it was applied already or arrived late. */
export class StaleSequenceError extends OrderBookError {
  constructor(
    readonly symbol: string,
    readonly current: number,
    readonly received: number,
  ) {
    super(
      'ORDERBOOK_STALE_SEQUENCE',
      409,
      `stale sequence on ${JSON.stringify(symbol)}: the book is at ${current}, got ${received}`,
    );
  }
}

/** The write would leave the best bid at or above the best ask, and `allowCrossed` is off. */
export class CrossedBookError extends OrderBookError {
  constructor(
    readonly symbol: string,
    readonly bestBid: string,
    readonly bestAsk: string,
  ) {
    super(
      'ORDERBOOK_CROSSED',
      409,
      `the write would cross the book of ${JSON.stringify(symbol)}: best bid ${bestBid} >= best ask ${bestAsk}`,
    );
  }
}

/** A write of durable mode: which operation. */
export type OrderBookDurableOperation = 'snapshot' | 'delta' | 'delete';

/**
 * `durability` is on and fewer replicas than asked acknowledged a write within `timeoutMs` (WAIT
 * answered fewer, or failed: then `cause` says why). The write ran on the primary and may still
 * stand there, or be lost by a failover: treat it as unknown, like a timeout (read the book's
 * sequence to find out, or save a snapshot again). 503: the service cannot promise the write now.
 */
export class OrderBookDurabilityError extends OrderBookError {
  constructor(
    readonly symbol: string,
    readonly operation: OrderBookDurableOperation,
    /** Replicas that acknowledged the write. */
    readonly acknowledged: number,
    /** Replicas `durability` asked for. */
    readonly replicas: number,
    timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      'ORDERBOOK_UNREPLICATED',
      503,
      `${operation} of the book of ${JSON.stringify(symbol)} not replicated: ${acknowledged} of ${replicas} replica${replicas === 1 ? '' : 's'} acknowledged within ${timeoutMs} ms; it may still stand on the primary: treat it as unknown`,
      options,
    );
  }
}
