import type { INestApplication } from '@nestjs/common';
import { MetricsService, type DeferredHistogramChild } from '@redkit/metrics';

import type { HttpAdapterName } from '../app.config.js';

/** Route label of a request no route matched: one series, whatever paths scanners try. */
const UNMATCHED = 'unmatched';
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface FastifyLike {
  addHook(
    name: 'onResponse',
    hook: (
      request: { method: string; routeOptions?: { url?: string } },
      reply: { statusCode: number; elapsedTime: number },
      done: () => void,
    ) => void,
  ): void;
}

interface ExpressRequest {
  method: string;
  baseUrl: string;
  route?: { path: string };
}

interface ExpressResponse {
  statusCode: number;
  once(event: 'finish', listener: () => void): void;
}

/**
 * `redkit_http_request_duration_seconds{method,route,status}` for every answered request, on either
 * adapter; its `_count` is the request rate. `route` is the route's pattern (`/markets/:symbol/book`),
 * never the raw path, so the series stay few. Attached before the app initialises; a deferred
 * histogram with children kept per label set, so a request costs a map lookup and a bucket scan.
 */
export function instrumentHttp(app: INestApplication, adapter: HttpAdapterName): void {
  const histogram = app.get(MetricsService).deferredHistogram({
    name: 'redkit_http_request_duration_seconds',
    help: 'Time from request to response of the sample API, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: BUCKETS,
  });
  const children = new Map<string, DeferredHistogramChild>();
  const observe = (method: string, route: string, status: number, seconds: number): void => {
    const key = `${method} ${status} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      child = histogram.labels({ method, route, status: String(status) });
      children.set(key, child);
    }
    child.observe(seconds);
  };

  if (adapter === 'fastify') {
    const fastify = app.getHttpAdapter().getInstance() as FastifyLike;
    fastify.addHook('onResponse', (request, reply, done) => {
      observe(
        request.method,
        request.routeOptions?.url ?? UNMATCHED,
        reply.statusCode,
        reply.elapsedTime / 1_000,
      );
      done();
    });
    return;
  }
  app.use((request: ExpressRequest, response: ExpressResponse, next: () => void) => {
    const started = performance.now();
    response.once('finish', () => {
      const route = request.route ? `${request.baseUrl}${request.route.path}` : UNMATCHED;
      observe(request.method, route, response.statusCode, (performance.now() - started) / 1_000);
    });
    next();
  });
}
