import { RedkitTracer, SPAN_ATTRIBUTES, type RedkitSpan, type SpanAttributes } from '@redkit/redis';

/** The order-book store's spans (recorded only while an OpenTelemetry tracer provider is registered). */
export const orderBookTracer = new RedkitTracer('@redkit/orderbook');

export const ORDERBOOK_SYMBOL = 'redkit.orderbook.symbol';
/** `redkit.orderbook.sequence`: the sequence written, or the sequence of the book read. */
export const ORDERBOOK_SEQUENCE = 'redkit.orderbook.sequence';
/** `redkit.orderbook.depth`: the levels per side a read asked for. */
export const ORDERBOOK_DEPTH = 'redkit.orderbook.depth';
/** `redkit.orderbook.found`: false when a read found no book for the symbol. */
export const ORDERBOOK_FOUND = 'redkit.orderbook.found';
export const ORDERBOOK_BID_LEVELS = 'redkit.orderbook.bid_levels';
export const ORDERBOOK_ASK_LEVELS = 'redkit.orderbook.ask_levels';

/** The store's operations, as span names (`orderbook <operation>`) and `db.operation.name`. */
export type OrderBookOperation = 'saveSnapshot' | 'applyDelta' | 'getSnapshot' | 'getTop' | 'delete';

/**
 * Runs one store operation in an `orderbook <operation>` span on the store's server; `describe`
 * adds what the result says (levels written, the sequence read, whether a book was found).
 */
export function traceBookOperation<R>(
  serverAttributes: SpanAttributes,
  operation: OrderBookOperation,
  symbol: string,
  run: () => Promise<R>,
  describe: (span: RedkitSpan, result: R) => void,
  depth?: number,
): Promise<R> {
  const attributes: Record<string, string | number | boolean | readonly string[]> = {
    ...serverAttributes,
    [SPAN_ATTRIBUTES.DB_OPERATION_NAME]: operation,
    [ORDERBOOK_SYMBOL]: String(symbol),
  };
  if (depth !== undefined) attributes[ORDERBOOK_DEPTH] = depth;
  return orderBookTracer.trace(`orderbook ${operation}`, { kind: 'client', attributes }, async (span) => {
    const result = await run();
    describe(span, result);
    return result;
  });
}

/** What a write's result adds to its span. */
export function describeWrite(
  span: RedkitSpan,
  result: { sequence: number; bidLevels: number; askLevels: number },
): void {
  span.setAttributes({
    [ORDERBOOK_SEQUENCE]: result.sequence,
    [ORDERBOOK_BID_LEVELS]: result.bidLevels,
    [ORDERBOOK_ASK_LEVELS]: result.askLevels,
  });
}

/** What a read's result adds to its span. */
export function describeRead(span: RedkitSpan, result: { sequence: number } | null): void {
  span.setAttribute(ORDERBOOK_FOUND, result !== null);
  if (result !== null) span.setAttribute(ORDERBOOK_SEQUENCE, result.sequence);
}
