/** Base class of the errors the exchange throws; `status` is the HTTP answer they map to. */
export class ExchangeError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No order with this id on this market: 404. */
export class OrderNotFoundError extends ExchangeError {
  constructor(
    readonly symbol: string,
    readonly orderId: string,
  ) {
    super(404, `no order ${orderId} on ${symbol}`);
  }
}

/** Cancelling an order that is filled or cancelled already: 409. */
export class OrderNotOpenError extends ExchangeError {
  constructor(
    readonly orderId: string,
    readonly status: string,
  ) {
    super(409, `order ${orderId} is ${status}, not open: nothing to cancel`);
  }
}

/** A clientOrderId reused for a different order (side, price or quantity): 409. */
export class IdempotencyConflictError extends ExchangeError {
  constructor(
    readonly clientOrderId: string,
    readonly orderId: string,
  ) {
    super(
      409,
      `clientOrderId ${JSON.stringify(clientOrderId)} was used for order ${orderId} with a different side, price or quantity`,
    );
  }
}
