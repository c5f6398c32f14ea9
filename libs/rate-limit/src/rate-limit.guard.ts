import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  requestRemoteAddress,
  requestUser,
  setResponseHeader,
  type HttpRequestLike,
  type HttpResponseLike,
} from '@redkit/metrics';

import { clientAddress } from './client-address.js';
import { RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './rate-limit.constants.js';
import { RateLimitExceededException } from './rate-limit.exception.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import type { RateLimitKey, RateLimitOptions } from './rate-limit-options.interface.js';
import { validateKey, type RateLimitPolicy } from './rate-limit-options.validator.js';
import { RateLimiterService, type RateLimitCheck, type RateLimitDecision } from './rate-limiter.service.js';

/** A route's limit, compiled once: the policy and how to find the client. */
interface RouteLimit {
  policy: RateLimitPolicy;
  key: RateLimitKey;
}

/** The identity fields a `user` key reads, in this order. */
interface UserLike {
  id?: unknown;
  sub?: unknown;
  userId?: unknown;
}

/**
 * Applies the module's global limits and every `@RateLimit` of the controller and the route, minus
 * those `@SkipRateLimit` names, in one decision (one round trip); writes the rate-limit headers on
 * every answer and refuses with a 429 JSON body and `Retry-After`. Use it per controller
 * (`@UseGuards(RateLimitGuard)`) or app-wide (`{ provide: APP_GUARD, useClass: RateLimitGuard }`).
 * Only HTTP requests are limited; other transports pass. Works the same on Express and Fastify (the
 * adapter differences live in `@redkit/metrics`'s http-exchange helpers).
 *
 * Extension points for subclasses: {@link getIdentity}, {@link getClientAddress}, {@link throwRateLimited}.
 *
 * Identities are namespaced (`ip:<address>`, `user:<id>`, `key:<function result>`), so a user id or
 * a header value can never be mistaken for another client's address.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly routes = new WeakMap<object, Map<object, RouteLimit[]>>();

  constructor(
    protected readonly limiter: RateLimiterService,
    protected readonly reflector: Reflector,
  ) {}

  /** Synchronous `true` for routes without limits and for other transports: no promise, no await. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const limits = this.limitsFor(context);
    if (limits.length === 0) return true;
    return this.decide(context, limits);
  }

  private async decide(context: ExecutionContext, limits: readonly RouteLimit[]): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequestLike>();
    const checks: RateLimitCheck[] = new Array(limits.length);
    for (let index = 0; index < limits.length; index += 1) {
      const limit = limits[index] as RouteLimit;
      const identity = this.identityOf(context, request, limit.key);
      checks[index] = { key: typeof identity === 'string' ? identity : await identity, limit: limit.policy };
    }
    const decision = await this.limiter.check(checks);
    const response = http.getResponse<HttpResponseLike>();
    const headers = rateLimitHeaders(
      decision.results,
      this.limiter.settings.headers,
      decision.allowed ? undefined : decision.retryAfterMs,
    );
    for (const [name, value] of headers) setResponseHeader(response, name, value);
    if (!decision.allowed) this.throwRateLimited(context, decision);
    return true;
  }

  /**
   * {@link getIdentity}, without a promise for the `ip` and `user` keys unless a subclass overrides
   * it: only a function key (or an override) can be asynchronous.
   */
  private identityOf(
    context: ExecutionContext,
    request: HttpRequestLike,
    key: RateLimitKey,
  ): string | Promise<string> {
    if (typeof key === 'function' || this.getIdentity !== RateLimitGuard.prototype.getIdentity) {
      return this.getIdentity(context, request, key);
    }
    return this.syncIdentity(request, key);
  }

  private syncIdentity(request: HttpRequestLike, key: 'ip' | 'user'): string {
    if (key === 'user') {
      const user = requestUser(request) as UserLike | null | undefined;
      const id = user?.id ?? user?.sub ?? user?.userId;
      if (id !== undefined && id !== null && String(id).length > 0) return `user:${String(id)}`;
    }
    return `ip:${this.getClientAddress(request)}`;
  }

  /** The identity a limit counts against; override to derive it differently. */
  protected async getIdentity(
    context: ExecutionContext,
    request: HttpRequestLike,
    key: RateLimitKey,
  ): Promise<string> {
    if (typeof key === 'function') return `key:${String(await key(context))}`;
    return this.syncIdentity(request, key);
  }

  /** The client address, believing `X-Forwarded-For` as far as the `trustProxy` option says. */
  protected getClientAddress(request: HttpRequestLike): string {
    return clientAddress(
      requestRemoteAddress(request),
      request.headers['x-forwarded-for'],
      this.limiter.settings.trustProxy,
    );
  }

  /** Throws the 429; override to answer differently. */
  protected throwRateLimited(_context: ExecutionContext, decision: RateLimitDecision): never {
    let refusing = decision.results[0];
    for (const result of decision.results) {
      if (result.retryAfterMs > (refusing?.retryAfterMs ?? 0)) refusing = result;
    }
    // A refusal is an expected answer, not a fault: its stack would name this guard every time and
    // capturing it is a tenth of the 429 path's CPU, so the exception is built without one.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let exception: RateLimitExceededException;
    try {
      exception = new RateLimitExceededException(
        refusing?.name ?? 'unknown',
        decision.retryAfterMs,
        this.limiter.settings.message,
      );
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    throw exception;
  }

  /** Global, class and method limits of a route, minus skipped ones; compiled once per route. */
  private limitsFor(context: ExecutionContext): RouteLimit[] {
    const controller = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.routes.get(controller);
    if (byHandler === undefined) this.routes.set(controller, (byHandler = new Map()));
    let limits = byHandler.get(handler);
    if (limits === undefined) {
      limits = this.compileRoute(controller, handler);
      byHandler.set(handler, limits);
    }
    return limits;
  }

  private compileRoute(controller: object, handler: object): RouteLimit[] {
    const skip = this.reflector.getAllAndOverride<true | string[] | undefined>(SKIP_RATE_LIMIT_METADATA, [
      handler as never,
      controller as never,
    ]);
    if (skip === true) return [];
    const declared: RateLimitOptions[] = [
      ...this.limiter.settings.limits,
      ...((Reflect.getMetadata(RATE_LIMIT_METADATA, controller) as RateLimitOptions[] | undefined) ?? []),
      ...((Reflect.getMetadata(RATE_LIMIT_METADATA, handler) as RateLimitOptions[] | undefined) ?? []),
    ];
    const byName = new Map<string, RouteLimit>();
    for (const options of declared) {
      validateKey(options.key, `@RateLimit(${options.name ?? ''}).key`);
      const policy = this.limiter.policy(options);
      // A later declaration (class after global, method after class) of the same name replaces it.
      byName.delete(policy.name);
      byName.set(policy.name, { policy, key: options.key ?? 'ip' });
    }
    const skipped = new Set(Array.isArray(skip) ? skip : []);
    return [...byName.values()].filter((limit) => !skipped.has(limit.policy.name));
  }
}
