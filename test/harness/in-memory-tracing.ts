import { expect } from '@jest/globals';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/**
 * An OpenTelemetry SDK that keeps finished spans in memory, for the tracing specs. Not exported from
 * the harness index, so that only the specs that trace load the SDK.
 */
export class InMemoryTracing {
  readonly exporter = new InMemorySpanExporter();
  private readonly provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.exporter)],
  });
  private readonly contextManager = new AsyncLocalStorageContextManager();

  /** Registers the provider and an AsyncLocalStorage context manager as the process's globals. */
  register(): void {
    context.setGlobalContextManager(this.contextManager.enable());
    trace.setGlobalTracerProvider(this.provider);
  }

  /** Unregisters them (and any propagator a test set): tracing is off again. */
  unregister(): void {
    trace.disable();
    context.disable();
    propagation.disable();
  }

  /** The finished spans named `name`. */
  spans(name: string): ReadableSpan[] {
    return this.exporter.getFinishedSpans().filter((span) => span.name === name);
  }

  /** The one finished span named `name` (the test fails if there is not exactly one). */
  only(name: string): ReadableSpan {
    const found = this.spans(name);
    expect(found).toHaveLength(1);
    return found[0] as ReadableSpan;
  }
}

/** The span id of a span's parent, if it has one. */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
