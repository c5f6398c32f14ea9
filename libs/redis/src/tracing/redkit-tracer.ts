import type { Attributes, Context, Link, Span, SpanOptions, Tracer } from '@opentelemetry/api';

import { otelApi, tracingEnabled } from './otel-api.js';
import type { TraceContext } from './trace-context.js';

/** What a span describes, as OpenTelemetry's `SpanKind` names it. */
export type RedkitSpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** A span attribute's value (OpenTelemetry's `AttributeValue`). */
export type SpanAttributeValue =
  string | number | boolean | ReadonlyArray<string> | ReadonlyArray<number> | ReadonlyArray<boolean>;

/** Span attributes by name (OpenTelemetry semantic-convention names where one exists). */
export type SpanAttributes = Readonly<Record<string, SpanAttributeValue>>;

/** How {@link RedkitTracer.trace} and {@link RedkitTracer.startSpan} start a span. */
export interface RedkitSpanOptions {
  /** Default `internal`. */
  kind?: RedkitSpanKind;
  attributes?: SpanAttributes;
  /** The parent, when it is not the active span: a context a message carried (`extractTraceContext`). */
  parent?: TraceContext;
  /** Spans of other traces this one relates to (a batch consumed together). */
  links?: readonly TraceContext[];
  /** A new trace, whatever span is active. */
  root?: boolean;
  /** When the span started, in epoch milliseconds (default: now). */
  startTime?: number;
}

/**
 * The part of an OpenTelemetry `Span` redkit uses: a real span while a tracer provider is
 * registered, a shared no-op otherwise.
 */
export interface RedkitSpan {
  setAttribute(key: string, value: SpanAttributeValue): unknown;
  setAttributes(attributes: SpanAttributes): unknown;
  addEvent(name: string, attributes?: SpanAttributes): unknown;
  updateName(name: string): unknown;
  /** Ends the span; `endTime` in epoch milliseconds (default: now). Ending twice does nothing. */
  end(endTime?: number): void;
  /** False for the no-op span, and for a span the sampler dropped: skip costly attributes then. */
  isRecording(): boolean;
}

/** OpenTelemetry's `SpanKind` values by name. */
const SPAN_KINDS: Readonly<Record<RedkitSpanKind, number>> = Object.freeze({
  internal: 0,
  server: 1,
  client: 2,
  producer: 3,
  consumer: 4,
});

/** OpenTelemetry's `SpanStatusCode.ERROR`. */
const STATUS_ERROR = 2;

/** The span handed to callbacks when nothing records: one shared object, nothing allocated. */
const NOOP_SPAN: RedkitSpan = Object.freeze({
  setAttribute: () => NOOP_SPAN,
  setAttributes: () => NOOP_SPAN,
  addEvent: () => NOOP_SPAN,
  updateName: () => NOOP_SPAN,
  end: () => undefined,
  isRecording: () => false,
});

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Records `error` on a span: an exception event and the ERROR status, with the error's message.
 * Does nothing on the no-op span.
 */
export function recordSpanError(span: RedkitSpan, error: unknown): void {
  if (!span.isRecording()) return;
  const real = span as unknown as Span;
  if (error instanceof Error) {
    real.recordException(error);
    real.setStatus({ code: STATUS_ERROR, message: `${error.name}: ${error.message}` });
  } else {
    real.recordException(String(error));
    real.setStatus({ code: STATUS_ERROR, message: String(error) });
  }
}

/**
 * redkit's thin layer over the OpenTelemetry API, one per library (`new RedkitTracer('@redkit/cache')`).
 * `@opentelemetry/api` is an optional peer dependency and no SDK is bundled: spans are recorded
 * only while the application has registered a tracer provider (an OpenTelemetry SDK). Until then
 * {@link enabled} is false after one property read, and a hot path that checks it first pays
 * nothing else.
 *
 * @example
 * const tracer = new RedkitTracer('@redkit/orders');
 * if (!tracer.enabled) return this.place(order);
 * return tracer.trace('orders place', { kind: 'client', attributes: { 'orders.symbol': order.symbol } }, () => this.place(order));
 */
export class RedkitTracer {
  private tracer: Tracer | undefined;
  /** The global (proxy) provider {@link tracer} came from: an SDK registered anew replaces it. */
  private tracerOf: unknown;

  constructor(
    /** The instrumentation scope's name: the package (`@redkit/cache`). */
    readonly name: string,
    readonly version?: string,
  ) {}

  /** Whether spans are recorded now: a tracer provider is registered and `@opentelemetry/api` is installed. */
  get enabled(): boolean {
    return tracingEnabled();
  }

  /**
   * Runs `fn` inside a new span, active for everything `fn` calls and awaits, and ends the span when
   * `fn` returns or, for a promise, settles; a throw or rejection is recorded on the span (exception
   * event, ERROR status) and passed on. Without a tracer provider `fn` gets a no-op span.
   */
  trace<T>(name: string, options: RedkitSpanOptions, fn: (span: RedkitSpan) => T): T {
    if (!tracingEnabled()) return fn(NOOP_SPAN);
    const api = otelApi();
    const parent = this.parentOf(options);
    const span = this.otelTracer().startSpan(name, this.spanOptions(options), parent);
    return api.context.with(api.trace.setSpan(parent, span), runEnding<T>, undefined, span, fn);
  }

  /**
   * Starts a span that is not made active (a lock's hold, which outlives the call that started it);
   * the caller ends it. A no-op span without a tracer provider.
   */
  startSpan(name: string, options: RedkitSpanOptions = {}): RedkitSpan {
    if (!tracingEnabled()) return NOOP_SPAN;
    const span = this.otelTracer().startSpan(name, this.spanOptions(options), this.parentOf(options));
    return span as unknown as RedkitSpan;
  }

  /** Runs `fn` with `span` as the active span (its children nest under it); `span` is not ended. */
  withSpan<T>(span: RedkitSpan, fn: () => T): T {
    if (span === NOOP_SPAN || !tracingEnabled()) return fn();
    const api = otelApi();
    return api.context.with(api.trace.setSpan(api.context.active(), span as unknown as Span), fn);
  }

  private otelTracer(): Tracer {
    const api = otelApi();
    const provider = api.trace.getTracerProvider();
    if (this.tracer === undefined || this.tracerOf !== provider) {
      this.tracer = provider.getTracer(this.name, this.version);
      this.tracerOf = provider;
    }
    return this.tracer;
  }

  private parentOf(options: RedkitSpanOptions): Context {
    const api = otelApi();
    if (options.parent !== undefined) return options.parent.otelContext as Context;
    return api.context.active();
  }

  private spanOptions(options: RedkitSpanOptions): SpanOptions {
    const spanOptions: SpanOptions = { kind: SPAN_KINDS[options.kind ?? 'internal'] };
    if (options.attributes !== undefined) spanOptions.attributes = options.attributes as Attributes;
    if (options.root === true) spanOptions.root = true;
    if (options.startTime !== undefined) spanOptions.startTime = options.startTime;
    if (options.links !== undefined && options.links.length > 0) {
      const api = otelApi();
      const links: Link[] = [];
      for (const link of options.links) {
        const spanContext = api.trace.getSpanContext(link.otelContext as Context);
        if (spanContext !== undefined) links.push({ context: spanContext });
      }
      spanOptions.links = links;
    }
    return spanOptions;
  }
}

/** `fn(span)`, ending `span` when it returns or settles, recording a failure. */
function runEnding<T>(span: Span, fn: (span: RedkitSpan) => T): T {
  const redkitSpan = span as unknown as RedkitSpan;
  let result: T;
  try {
    result = fn(redkitSpan);
  } catch (error) {
    recordSpanError(redkitSpan, error);
    span.end();
    throw error;
  }
  if (!isPromiseLike(result)) {
    span.end();
    return result;
  }
  return result.then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      recordSpanError(redkitSpan, error);
      span.end();
      throw error;
    },
  ) as T;
}
