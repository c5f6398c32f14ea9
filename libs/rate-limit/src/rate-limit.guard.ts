import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

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

/** The parts of a Node/Express/Fastify request the guard reads. */
interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
  ip?: string;
  user?: { id?: unknown; sub?: unknown; userId?: unknown } | null;
}

/** Express (`setHeader`) or Fastify (`header`) reply. */
interface HttpResponseLike {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/**
 * Applies the module's global limits and every `@RateLimit` of the controller and the route, minus
 * those `@SkipRateLimit` names, in one decision (one round trip); writes the rate-limit headers on
 * every answer and refuses with a 429 JSON body and `Retry-After`. Use it per controller
 * (`@UseGuards(RateLimitGuard)`) or app-wide (`{ provide: APP_GUARD, useClass: RateLimitGuard }`).
 * Only HTTP requests are limited; other transports pass.
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

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const limits = this.limitsFor(context);
    if (limits.length === 0) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequestLike>();
    const checks: RateLimitCheck[] = [];
    for (const limit of limits) {
      checks.push({ key: await this.getIdentity(context, request, limit.key), limit: limit.policy });
    }
    const decision = await this.limiter.check(checks);
    const response = http.getResponse<HttpResponseLike>();
    const headers = rateLimitHeaders(
      decision.results,
      this.limiter.settings.headers,
      decision.allowed ? undefined : decision.retryAfterMs,
    );
    for (const [name, value] of headers) {
      if (typeof response.setHeader === 'function') response.setHeader(name, value);
      else response.header?.(name, value);
    }
    if (!decision.allowed) this.throwRateLimited(context, decision);
    return true;
  }

  /** The identity a limit counts against; override to derive it differently. */
  protected async getIdentity(
    context: ExecutionContext,
    request: HttpRequestLike,
    key: RateLimitKey,
  ): Promise<string> {
    if (typeof key === 'function') return `key:${String(await key(context))}`;
    if (key === 'user') {
      const user = request.user;
      const id = user?.id ?? user?.sub ?? user?.userId;
      if (id !== undefined && id !== null && String(id).length > 0) return `user:${String(id)}`;
    }
    return `ip:${this.getClientAddress(request)}`;
  }

  /** The client address, believing `X-Forwarded-For` as far as the `trustProxy` option says. */
  protected getClientAddress(request: HttpRequestLike): string {
    return clientAddress(
      request.socket?.remoteAddress ?? request.ip,
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
    throw new RateLimitExceededException(
      refusing?.name ?? 'unknown',
      decision.retryAfterMs,
      this.limiter.settings.message,
    );
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
