import {
  correlationStorage,
  isValidCorrelationId,
  newCorrelationId,
  parseTraceparent,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
} from './correlation.js';
import { otelApi, propagatorRegistered, tracingEnabled } from './otel-api.js';
import { extractOtelContext, formatTraceparent } from './otel-context.js';

/**
 * A trace context taken from a carrier by {@link extractTraceContext}: the parent to give a span
 * (`RedkitTracer.trace(name, { parent })`) or to restore with {@link runInRestoredContext}. Opaque:
 * what it holds is OpenTelemetry's, and only exists while a tracer provider is registered.
 */
export class TraceContext {
  /** @internal */
  constructor(
    /** @internal The OpenTelemetry `Context` holding the remote span context. */
    readonly otelContext: unknown,
  ) {}
}

/** String fields a trace context is written to and read from: message fields, an envelope, headers. */
export type TraceCarrier = Record<string, string | undefined>;

/**
 * What a message carries to restore its producer's context: its correlation id and the W3C
 * trace-context fields {@link injectTraceContext} wrote (absent ones are fine).
 */
export interface RestorableContext {
  correlationId?: string | undefined;
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/**
 * Writes the active span's W3C trace context into `carrier` (`traceparent`, and `tracestate` when
 * there is one) through the registered propagator, or redkit's own W3C writer when none is
 * registered. Returns false when there was nothing to write (no tracer provider registered, no
 * span active), so a producer can call it unconditionally.
 *
 * @example
 * const fields: Record<string, string> = { correlationId: currentCorrelationId() ?? newCorrelationId() };
 * injectTraceContext(fields); // fields.traceparent = '00-<trace id>-<span id>-01'
 */
export function injectTraceContext(carrier: Record<string, string>): boolean {
  if (!tracingEnabled()) return false;
  const api = otelApi();
  const active = api.context.active();
  const spanContext = api.trace.getSpanContext(active);
  if (spanContext === undefined || !api.trace.isSpanContextValid(spanContext)) return false;
  if (propagatorRegistered()) {
    api.propagation.inject(active, carrier);
    return true;
  }
  carrier[TRACEPARENT_HEADER] = formatTraceparent(
    spanContext.traceId,
    spanContext.spanId,
    spanContext.traceFlags,
  );
  const state = spanContext.traceState?.serialize();
  if (state) carrier[TRACESTATE_HEADER] = state;
  return true;
}

/**
 * The trace context `carrier` holds (a valid `traceparent`, read by the registered propagator or
 * redkit's own W3C reader), or undefined when it holds none or no tracer provider is registered.
 */
export function extractTraceContext(carrier: Readonly<TraceCarrier>): TraceContext | undefined {
  if (!tracingEnabled()) return undefined;
  const api = otelApi();
  const context = extractOtelContext(api, api.context.active(), carrier);
  return context === undefined ? undefined : new TraceContext(context);
}

/**
 * Runs `fn` inside the context a message carried: its correlation id (a valid `correlationId`,
 * else the trace id of its `traceparent`, else a new one: a consumer always logs with an id) and,
 * while a tracer provider is registered, its trace context, so spans started in `fn` are children
 * of the producer's span. A malformed field is ignored, never thrown: it is another process's data.
 *
 * @example
 * await runInRestoredContext(entry.fields, () => tracer.trace('orders process', { kind: 'consumer' }, () => handle(entry)));
 */
export function runInRestoredContext<T>(carrier: Readonly<RestorableContext>, fn: () => T): T {
  const given = carrier.correlationId;
  const id = isValidCorrelationId(given)
    ? given
    : (parseTraceparent(carrier.traceparent)?.traceId ?? newCorrelationId());
  if (!tracingEnabled()) return correlationStorage.run(id, fn);
  const api = otelApi();
  const restored = extractOtelContext(api, api.context.active(), carrier as Readonly<TraceCarrier>);
  if (restored === undefined) return correlationStorage.run(id, fn);
  return api.context.with(restored, () => correlationStorage.run(id, fn));
}
