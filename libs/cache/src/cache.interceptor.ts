import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HEADERS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ApplicationConfig } from '@nestjs/core';
import { setResponseHeader, type HttpResponseLike } from '@redkit/metrics';
import { concatWith, defer, ignoreElements, lastValueFrom, of, type Observable } from 'rxjs';

import { CacheDecoratorsExplorer, type CacheOperations } from './cache-decorators.explorer.js';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The one argument a controller handler's key template, `keyFn`, tags, `condition` and `unless`
 * receive: the request's route parameters, query and body as they arrive (before pipes, so query
 * values are strings).
 *
 * @example
 * @Cacheable({ key: 'book:{0.params.symbol}:{0.query.depth}' })
 * @Cacheable({ keyFn: ({ params, query }: CacheRequestArguments) => `book:${params.symbol}:${String(query.depth)}` })
 */
export interface CacheRequestArguments {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

/**
 * Applies `@Cacheable`, `@CachePut` and `@CacheEvict` to HTTP controller handlers, whatever the HTTP
 * method, on Express and Fastify alike. Each cache decorator attaches it to its own route (once, as
 * the first of the route's interceptors; app-wide and controller-level interceptors run before it),
 * so routes without one never run it; do not add it again with `@UseInterceptors`.
 *
 * `@Cacheable`: a cached response body is sent without running the handler (nor the interceptors
 * after this one); a miss runs the handler once however many equal requests arrive together, and
 * stores what it returned (its observable's last value). Status and headers are not cached: they
 * come from the route's decorators. Handlers that write to `@Res()` themselves are not cacheable.
 * `@CacheEvict` evicts once the handler's observable has completed; an error evicts nothing.
 *
 * WebSocket and microservice handlers pass through untouched.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** Per route (its compiled operations): whether a hit may be sent as its kept JSON text. */
  private readonly jsonHitRoutes = new WeakMap<CacheOperations, boolean>();

  constructor(
    protected readonly explorer: CacheDecoratorsExplorer,
    private readonly config: ApplicationConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const operations = this.explorer.operationsFor(context.getClass(), context.getHandler());
    if (operations === undefined) return next.handle();
    const args = [this.requestArguments(context)];
    const { cacheable } = operations;
    if (
      cacheable?.condition !== undefined &&
      operations.put === undefined &&
      operations.evictions.length === 0 &&
      !cacheable.condition(...args)
    ) {
      // The cache stays out of this call (`condition` said so): the handler's observable as it is,
      // without another RxJS layer and promise around it.
      return next.handle();
    }
    if (cacheable === undefined && operations.put === undefined) {
      // Evictions only: the handler's values go through as they come; the eviction runs once it
      // completes, and before the response is sent (Nest waits for completion).
      const evict = defer(() => this.explorer.afterSuccess(operations, args, undefined));
      return next.handle().pipe(concatWith(evict.pipe(ignoreElements())));
    }
    if (
      cacheable !== undefined &&
      operations.put === undefined &&
      operations.evictions.length === 0 &&
      this.sendsJsonHits(context, operations)
    ) {
      // `condition` (if any) said yes above.
      // `preserializedHits`: an L1 hit answers at once, with the JSON text kept with the entry.
      const json = this.explorer.heldJson(cacheable, args);
      if (json !== undefined) {
        setResponseHeader(
          context.switchToHttp().getResponse<HttpResponseLike>(),
          'content-type',
          JSON_CONTENT_TYPE,
        );
        return of(json);
      }
    }
    // `next.handle()` is called only when the handler has to run: never on a hit, and once for a
    // flight of equal requests.
    return defer(() =>
      this.explorer.execute(operations, args, () =>
        lastValueFrom(next.handle(), { defaultValue: undefined }),
      ),
    );
  }

  /**
   * Whether this route may send a hit as JSON text: `preserializedHits` is on, no app-wide or
   * controller interceptor runs around this one (it could map the body, and would get a string),
   * and the route sets no Content-Type of its own. Decided on the route's first call, once the
   * app's global interceptors are all registered.
   */
  private sendsJsonHits(context: ExecutionContext, operations: CacheOperations): boolean {
    let sends = this.jsonHitRoutes.get(operations);
    if (sends === undefined) {
      const outer =
        this.config.getGlobalInterceptors().length +
        this.config.getGlobalRequestInterceptors().length +
        ((Reflect.getMetadata(INTERCEPTORS_METADATA, context.getClass()) ?? []) as unknown[]).length;
      const headers = (Reflect.getMetadata(HEADERS_METADATA, context.getHandler()) ?? []) as Array<{
        name: string;
      }>;
      sends =
        this.explorer.preserializedHits &&
        outer === 0 &&
        !headers.some((header) => header.name.toLowerCase() === 'content-type');
      this.jsonHitRoutes.set(operations, sends);
    }
    return sends;
  }

  /** The handler's key arguments; override to key on something else (a header, the user). */
  protected requestArguments(context: ExecutionContext): CacheRequestArguments {
    const request = context.switchToHttp().getRequest<Partial<CacheRequestArguments>>();
    return { params: request.params ?? {}, query: request.query ?? {}, body: request.body };
  }
}
