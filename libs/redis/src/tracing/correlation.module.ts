import { Inject, Module, type DynamicModule, type NestModule } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

import {
  installExpressCorrelation,
  installFastifyCorrelation,
  type ExpressAppLike,
  type FastifyInstanceLike,
} from './correlation-http.js';
import {
  resolveCorrelationOptions,
  type CorrelationModuleOptions,
  type ResolvedCorrelationOptions,
} from './correlation-options.js';
import {
  CORRELATION_MODULE_OPTIONS,
  CORRELATION_OPTIONS_TYPE,
  CorrelationConfigurableModule,
} from './correlation.module-definition.js';

/** HTTP servers the hooks are installed on already (an app importing the module twice gets them once). */
const installed = new WeakSet<object>();

/**
 * Gives every HTTP request a correlation id, on Express and Fastify alike: the trace id of its
 * `traceparent`, else its `x-correlation-id` (1-128 safe characters; a malformed header is ignored),
 * else a new one. The id is current for everything the request runs (`currentCorrelationId()`,
 * every redkit log line, every event the request publishes), and answered in an `x-correlation-id`
 * response header. While an OpenTelemetry tracer provider is registered, a request no HTTP
 * instrumentation traced yet gets a server span `HTTP <method> <route>`, parented on its
 * `traceparent`, under which redkit's spans nest.
 *
 * Installed on the adapter's own server (an Express middleware, a Fastify `onRequest` hook), not as
 * Nest middleware: it is in place before Nest's guards, interceptors and pipes (and, on Express,
 * before Nest middleware), and costs two header reads and one `AsyncLocalStorage.run` per request.
 *
 * @example
 * imports: [RedisModule.forRoot({ url }), CorrelationModule.forRoot()]
 */
@Module({})
export class CorrelationModule extends CorrelationConfigurableModule implements NestModule {
  private readonly options: ResolvedCorrelationOptions;

  constructor(
    @Inject(CORRELATION_MODULE_OPTIONS) options: CorrelationModuleOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    super();
    this.options = resolveCorrelationOptions(options);
  }

  /** Every option has a default, so `forRoot()` alone is enough. */
  static override forRoot(options: typeof CORRELATION_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Runs while Nest registers middleware: after the body parsers, before Nest middleware and
   * routes. An app without an HTTP server (a microservice, an application context) gets nothing.
   */
  configure(): void {
    const adapter = this.adapterHost.httpAdapter as
      { getType(): string; getInstance(): object } | undefined | null;
    if (adapter === undefined || adapter === null) return;
    const instance = adapter.getInstance();
    if (installed.has(instance)) return;
    installed.add(instance);
    if (adapter.getType() === 'fastify')
      installFastifyCorrelation(instance as FastifyInstanceLike, this.options);
    else installExpressCorrelation(instance as ExpressAppLike, this.options);
  }
}
