// The OpenTelemetry SDK of the `redkit-traced` subject: what an application that traces registers
// (a BasicTracerProvider with its default sampler, which records every span, a SimpleSpanProcessor
// and the AsyncLocalStorage context manager), with an exporter that drops the spans, so the row
// measures what recording spans costs and not what shipping them does. Registered while the subject
// exists, unregistered when it closes: redkit reads the registration per operation, so the other
// subjects run untraced.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

type ExportCallback = Parameters<SpanExporter['export']>[1];

/** ExportResultCode.SUCCESS of @opentelemetry/core, which this package does not depend on directly. */
const EXPORT_SUCCESS = 0;

/** An exporter that accepts every span and keeps none. */
class DroppingExporter implements SpanExporter {
  exported = 0;

  export(spans: ReadableSpan[], done: ExportCallback): void {
    this.exported += spans.length;
    done({ code: EXPORT_SUCCESS });
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}
}

export class NoopTracing {
  private readonly exporter = new DroppingExporter();
  private readonly provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.exporter)],
  });
  private readonly contextManager = new AsyncLocalStorageContextManager();
  private registered = false;

  /** Spans ended and handed to the exporter so far (the proof that the row was traced). */
  get spansExported(): number {
    return this.exporter.exported;
  }

  /** Makes the provider and the context manager the process's globals; throws if another SDK is registered. */
  register(): void {
    if (!context.setGlobalContextManager(this.contextManager.enable()))
      throw new Error('another OpenTelemetry context manager is registered');
    if (!trace.setGlobalTracerProvider(this.provider)) {
      context.disable();
      throw new Error('another OpenTelemetry tracer provider is registered');
    }
    this.registered = true;
  }

  /** Unregisters both: redkit stops tracing at its next operation. */
  async unregister(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    trace.disable();
    context.disable();
    await this.provider.shutdown();
  }
}
