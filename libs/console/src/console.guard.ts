import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
  BadRequestException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { ApiKeySessions } from './api-key-sessions.js';
import type { ConsoleActionMetadata } from './console-action.decorator.js';
import { ConsoleAudit } from './console-audit.js';
import {
  CONSOLE_ACTION_METADATA,
  CONSOLE_CSRF_HEADER,
  CONSOLE_PUBLIC_METADATA,
  CONSOLE_RESOLVED_OPTIONS,
} from './console.constants.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { actor, clientKey, header, type ConsoleRequest } from './console-request.js';
import { ClientBudget } from './client-budget.js';
import { SessionRevocations } from './session-revocations.js';

/** `application/json`, with or without parameters (`; charset=utf-8`). */
const JSON_TYPE = /^application\/json\s*(;|$)/i;
/** What `Sec-Fetch-Site` may say of a write: the page itself, or the user typing the URL. */
const SAME_SITE = new Set(['same-origin', 'none']);

/**
 * The console's own checks, on every console route, after the app's global guards and the
 * `guard` option (the app's auth) have run:
 *
 * 1. with an `apiKey`: the session cookie, not signed out (401 without, except on the page, its
 *    assets, login and logout);
 * 2. the per-client request budget (429), on every route but the page and its assets;
 * 3. on every write: `Content-Type: application/json` (415), `Sec-Fetch-Site` same-origin or none
 *    when sent (403), and with a session the `X-CSRF-Token` header (403);
 * 4. a hidden stream answers 404 as if it did not exist;
 * 5. an action: refused (403) in read-only mode, when denied, or on a read-only stream; on a
 *    production console a destructive one needs `"confirm": "<stream>"` in the body (400).
 *
 * Refused actions are audited. `protected` hooks are the extension points for a subclass.
 */
@Injectable()
export class ConsoleGuard implements CanActivate {
  private readonly budget: ClientBudget;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Inject(ApiKeySessions) private readonly sessions: ApiKeySessions,
    @Inject(ConsoleAudit) private readonly audit: ConsoleAudit,
    @Inject(SessionRevocations) private readonly revocations: SessionRevocations,
  ) {
    this.budget = new ClientBudget(options.requestsPerSecond);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ConsoleRequest>();
    const publicRoute = this.reflector.getAllAndOverride<'metered' | 'unmetered' | undefined>(
      CONSOLE_PUBLIC_METADATA,
      [context.getHandler(), context.getClass()],
    );
    const isPublic = publicRoute !== undefined;
    this.authenticate(request, isPublic);
    const session = request.consoleSession;
    if (session !== undefined && (await this.revocations.isRevoked(session))) {
      delete request.consoleSession;
      if (!isPublic) throw new UnauthorizedException('this console session was signed out: log in again');
    }
    if (publicRoute !== 'unmetered' && !this.budget.take(clientKey(request))) {
      throw new HttpException(
        {
          statusCode: HttpStatus.TOO_MANY_REQUESTS,
          error: 'Too Many Requests',
          message: `more than ${this.options.requestsPerSecond} console requests a second from this client`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    const method = (request.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') this.checkWrite(request, isPublic);
    const stream = this.streamOf(request);
    if (stream !== undefined && this.options.hidden.matches(stream)) {
      throw new NotFoundException(`no stream "${stream}"`);
    }
    const action = this.reflector.get<ConsoleActionMetadata | undefined>(
      CONSOLE_ACTION_METADATA,
      context.getHandler(),
    );
    if (action !== undefined) this.checkAction(request, action, stream);
    return true;
  }

  /** Sets `request.consoleSession` from the cookie; 401 on a protected route without one. */
  protected authenticate(request: ConsoleRequest, isPublic: boolean): void {
    if (!this.sessions.enabled) return;
    const session = this.sessions.verify(header(request, 'cookie'));
    if (session !== undefined) request.consoleSession = session;
    else if (!isPublic)
      throw new UnauthorizedException('log in to the console with its API key (POST api/login)');
  }

  /** The checks every write gets: JSON only, same site only, and the CSRF token with a session. */
  protected checkWrite(request: ConsoleRequest, isPublic: boolean): void {
    const type = header(request, 'content-type');
    if (type === undefined || !JSON_TYPE.test(type)) {
      throw new UnsupportedMediaTypeException(
        'console writes must be sent as Content-Type: application/json',
      );
    }
    const site = header(request, 'sec-fetch-site');
    if (site !== undefined && !SAME_SITE.has(site.toLowerCase())) {
      throw new ForbiddenException('cross-site request refused');
    }
    const session = request.consoleSession;
    if (
      !isPublic &&
      session !== undefined &&
      !this.sessions.checkCsrf(session, header(request, CONSOLE_CSRF_HEADER))
    ) {
      throw new ForbiddenException('missing or wrong X-CSRF-Token (GET api/session gives it)');
    }
  }

  /** The stream a route is about (its `:stream` parameter), if any. */
  protected streamOf(request: ConsoleRequest): string | undefined {
    const params = request.params as Record<string, unknown> | undefined;
    const stream = params?.stream;
    return typeof stream === 'string' && stream !== '' ? stream : undefined;
  }

  private checkAction(
    request: ConsoleRequest,
    { action, confirm }: ConsoleActionMetadata,
    stream?: string,
  ): void {
    let refusal: HttpException | undefined;
    if (this.options.mode !== 'operate') refusal = new ForbiddenException('console is read-only');
    else if (this.options.deny.has(action)) refusal = new ForbiddenException(`action "${action}" is denied`);
    else if (stream !== undefined && this.options.readOnlyStreams.matches(stream)) {
      refusal = new ForbiddenException(`stream "${stream}" is read-only`);
    } else if (this.options.production && stream !== undefined && this.needsConfirmation(request, confirm)) {
      const body = request.body as Record<string, unknown> | undefined;
      if (body?.confirm !== stream) {
        refusal = new BadRequestException(
          `confirm: this is a production console; type the stream's name ("${stream}") in "confirm" to ${action}`,
        );
      }
    }
    if (refusal === undefined) return;
    const params = request.params as Record<string, unknown> | undefined;
    this.audit.record({
      who: actor(request),
      action,
      stream,
      group: typeof params?.group === 'string' ? params.group : undefined,
      outcome: 'refused',
      detail: refusal.message,
    });
    throw refusal;
  }

  private needsConfirmation(request: ConsoleRequest, rule: ConsoleActionMetadata['confirm']): boolean {
    if (rule === 'always') return true;
    if (rule === 'never') return false;
    const body = request.body as Record<string, unknown> | undefined;
    return body?.all !== undefined;
  }
}
