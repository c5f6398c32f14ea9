import { RedkitTracer, SPAN_ATTRIBUTES, type RedkitSpan, type SpanAttributes } from '@redkit/redis';

/**
 * The exchange's own spans, beside the libraries' (recorded only while an OpenTelemetry tracer
 * provider is registered; every caller checks `exchangeTracer.enabled` first).
 */
export const exchangeTracer = new RedkitTracer('orderbook-api');

export const EXCHANGE_SYMBOL = 'exchange.symbol';
export const EXCHANGE_SIDE = 'exchange.order.side';
/** `exchange.duplicate`: the order's clientOrderId was seen before; nothing was placed. */
export const EXCHANGE_DUPLICATE = 'exchange.duplicate';
export const EXCHANGE_TRADES = 'exchange.trades';
export const EXCHANGE_EVENT_TYPE = 'exchange.event.type';

/**
 * Runs the matching script of one order in an `exchange match` span: the market and side, then the
 * number of trades it made (or that it was a duplicate).
 */
export function traceMatching<R extends readonly unknown[]>(
  server: SpanAttributes,
  symbol: string,
  side: string,
  run: () => Promise<R>,
  describe: (span: RedkitSpan, reply: R) => void,
): Promise<R> {
  const attributes = {
    ...server,
    [SPAN_ATTRIBUTES.DB_OPERATION_NAME]: 'matchOrder',
    [EXCHANGE_SYMBOL]: symbol,
    [EXCHANGE_SIDE]: side,
  };
  return exchangeTracer.trace('exchange match', { kind: 'client', attributes }, async (span) => {
    const reply = await run();
    describe(span, reply);
    return reply;
  });
}

/** Runs the hand-over of one bus event to the open SSE streams in an `sse fan-out` span. */
export function traceFanOut(type: string, symbol: string, fanOut: () => void): void {
  exchangeTracer.trace(
    'sse fan-out',
    { attributes: { [EXCHANGE_EVENT_TYPE]: type, [EXCHANGE_SYMBOL]: symbol } },
    fanOut,
  );
}
