import type { Context, Span } from '@opentelemetry/api';

import {
  CORRELATION_ID_HEADER,
  correlationIdFromHeaders,
  correlationStorage,
  newCorrelationId,
} from './correlation.js';
import type { ResolvedCorrelationOptions } from './correlation-options.js';
import { otelApi, tracingEnabled, type OtelApi } from './otel-api.js';
import { recordSpanError, RedkitTracer, type RedkitSpan } from './redkit-tracer.js';
import { SPAN_ATTRIBUTES } from './span-attributes.js';
import { extractOtelContext } from './otel-context.js';
import { TraceContext, type TraceCarrier } from './trace-context.js';

/**
 * How each request gets its correlation id (and, with a tracer provider, its server span) on both
 * of Nest's HTTP adapters, installed on the adapter's own server rather than as Nest middleware, so
 * it costs two header reads and one `AsyncLocalStorage.run` per request:
 *
 * - Express: one middleware, installed while Nest registers middleware: after its body parsers and
 *   before Nest middleware, guards and routes. Context set before a body parser could be lost with
 *   parsers that resume in the socket's stream events (nestjs/nest#8837); after them it cannot be.
 * - Fastify: one `onRequest` hook. Fastify runs its content-type parsers in an AsyncResource of the
 *   request, so the context set there reaches the handler of a POST too (it did not before
 *   Fastify 3, fastify/fastify#3570). Nest middleware runs in an earlier `onRequest` hook
 *   (@fastify/middie), so on Fastify it runs before the id is set.
 *
 * `run`, not `enterWith`: `enterWith` would leave the id on the connection's async resource for
 * the next request on a kept-alive socket until that one set its own.
 */

const tracer = new RedkitTracer('@redkit/redis');

/** The parts of a Node request both adapters hand over. */
interface RequestLike {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** The Node response: its status and its close, for the server span. */
interface ServerResponseLike {
  statusCode: number;
  once(event: 'close', listener: () => void): unknown;
}

interface ExpressRequest extends RequestLike {
  baseUrl?: string;
  route?: { path?: unknown };
}

interface ExpressResponse extends ServerResponseLike {
  setHeader(name: string, value: string): unknown;
}

interface FastifyRequestLike extends RequestLike {
  routeOptions?: { url?: string };
}

interface FastifyReplyLike {
  header(name: string, value: string): unknown;
  raw: ServerResponseLike;
}

type HookDone = (error?: Error) => void;

/** The part of a Fastify instance the hooks are installed with. */
export interface FastifyInstanceLike {
  addHook(
    name: 'onRequest',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone) => void,
  ): unknown;
}

/** The part of an Express app the middleware is installed with. */
export interface ExpressAppLike {
  use(
    middleware: (request: ExpressRequest, response: ExpressResponse, next: (error?: unknown) => void) => void,
  ): unknown;
}

function incomingId(request: RequestLike, options: ResolvedCorrelationOptions): string {
  return (
    (options.trustIncoming ? correlationIdFromHeaders(request.headers) : undefined) ?? newCorrelationId()
  );
}

/** What a traced request runs in: its id and the OpenTelemetry context (with its server span). */
interface TracedRequest {
  id: string;
  context: Context;
  span: Span | undefined;
}

/**
 * The traced start of a request: a server span when none is active, parented on the request's
 * `traceparent`; the correlation id is the incoming one, else the trace id of the active span.
 */
function beginTraced(
  api: OtelApi,
  request: RequestLike,
  route: string | undefined,
  options: ResolvedCorrelationOptions,
): TracedRequest {
  let context = api.context.active();
  let span: Span | undefined;
  if (options.serverSpans && api.trace.getSpan(context) === undefined) {
    const parent = extractOtelContext(api, context, request.headers as TraceCarrier) ?? context;
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const attributes: Record<string, string> = {
      [SPAN_ATTRIBUTES.HTTP_REQUEST_METHOD]: method,
      [SPAN_ATTRIBUTES.URL_PATH]: query === -1 ? url : url.slice(0, query),
    };
    if (route !== undefined) attributes[SPAN_ATTRIBUTES.HTTP_ROUTE] = route;
    span = tracer.startSpan(route === undefined ? `HTTP ${method}` : `HTTP ${method} ${route}`, {
      kind: 'server',
      attributes,
      parent: new TraceContext(parent),
    }) as unknown as Span;
    context = api.trace.setSpan(parent, span);
  }
  const given = options.trustIncoming ? correlationIdFromHeaders(request.headers) : undefined;
  const spanContext = api.trace.getSpanContext(context);
  const id =
    given ??
    (spanContext !== undefined && api.trace.isSpanContextValid(spanContext)
      ? spanContext.traceId
      : newCorrelationId());
  span?.setAttribute(SPAN_ATTRIBUTES.CORRELATION_ID, id);
  return { id, context, span };
}

/** Ends a server span when its response is done (or the client went away), with the status. */
function endOnClose(
  response: ServerResponseLike,
  span: Span,
  method: string,
  routeAtEnd: (() => string | undefined) | undefined,
): void {
  response.once('close', () => {
    const route = routeAtEnd?.();
    if (route !== undefined) {
      span.updateName(`HTTP ${method} ${route}`);
      span.setAttribute(SPAN_ATTRIBUTES.HTTP_ROUTE, route);
    }
    const status = response.statusCode;
    span.setAttribute(SPAN_ATTRIBUTES.HTTP_RESPONSE_STATUS_CODE, status);
    if (status >= 500) {
      span.setAttribute(SPAN_ATTRIBUTES.ERROR_TYPE, String(status));
      recordSpanError(span as unknown as RedkitSpan, `HTTP ${status}`);
    }
    span.end();
  });
}

/** Express: one middleware; install it after the body parsers (see the top of this file). */
export function installExpressCorrelation(app: ExpressAppLike, options: ResolvedCorrelationOptions): void {
  app.use((request, response, next) => {
    if (!tracingEnabled()) {
      const id = incomingId(request, options);
      if (options.responseHeader) response.setHeader(CORRELATION_ID_HEADER, id);
      correlationStorage.run(id, next);
      return;
    }
    const api = otelApi();
    const traced = beginTraced(api, request, undefined, options);
    if (options.responseHeader) response.setHeader(CORRELATION_ID_HEADER, traced.id);
    if (traced.span !== undefined)
      endOnClose(response, traced.span, request.method ?? 'GET', () => {
        const path = request.route?.path;
        return typeof path === 'string' ? `${request.baseUrl ?? ''}${path}` : undefined;
      });
    api.context.with(traced.context, () => correlationStorage.run(traced.id, next));
  });
}

/** Fastify: one `onRequest` hook (see the top of this file). */
export function installFastifyCorrelation(
  fastify: FastifyInstanceLike,
  options: ResolvedCorrelationOptions,
): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!tracingEnabled()) {
      const id = incomingId(request, options);
      if (options.responseHeader) reply.header(CORRELATION_ID_HEADER, id);
      correlationStorage.run(id, done);
      return;
    }
    const api = otelApi();
    const traced = beginTraced(api, request, request.routeOptions?.url, options);
    if (options.responseHeader) reply.header(CORRELATION_ID_HEADER, traced.id);
    if (traced.span !== undefined) endOnClose(reply.raw, traced.span, request.method ?? 'GET', undefined);
    api.context.with(traced.context, () => correlationStorage.run(traced.id, done));
  });
}
