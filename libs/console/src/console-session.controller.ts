import {
  BadRequestException,
  Body,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { RedisConnection } from '@redkit/redis';

import { ApiKeySessions } from './api-key-sessions.js';
import { ConsolePublic } from './console-action.decorator.js';
import type { ConsoleSessionBody } from './console-api.types.js';
import { ConsoleAudit } from './console-audit.js';
import { CONSOLE_CONNECTION, CONSOLE_EXTRAS, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import { asHttpError } from './redis-unavailable.js';
import { bodyObject } from './console-input.js';
import type { ResolvedConsoleExtras, ResolvedConsoleOptions } from './console-options.validator.js';
import { ConsolePeers } from './console-peers.js';
import { actor, header, requestPath, type ConsoleRequest } from './console-request.js';
import { SessionRevocations } from './session-revocations.js';

/**
 * Whether the request came over TLS to Node, or to a TLS-terminating proxy that says so. Trusting the
 * proxy's word is harmless here: a forged `https` only makes the forger's own cookie `Secure`.
 */
function overTls(request: ConsoleRequest): boolean {
  const socket = (request.socket ?? request.raw?.socket) as { encrypted?: boolean } | null | undefined;
  if (socket?.encrypted === true) return true;
  const forwardedProto = header(request, 'x-forwarded-proto');
  if (forwardedProto !== undefined) return forwardedProto.split(',')[0]?.trim().toLowerCase() === 'https';
  const forwarded = header(request, 'forwarded');
  return (
    forwarded !== undefined && /(?:^|[;,\s])proto="?https"?(?:$|[;,\s])/i.test(forwarded.split(',')[0] ?? '')
  );
}

/** The session: what the page may do, and the API-key login and logout. */
export class ConsoleSessionController {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Inject(CONSOLE_EXTRAS) private readonly extras: ResolvedConsoleExtras,
    @Inject(ApiKeySessions) private readonly sessions: ApiKeySessions,
    @Inject(SessionRevocations) private readonly revocations: SessionRevocations,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
    @Inject(ConsoleAudit) private readonly audit: ConsoleAudit,
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
  ) {}

  @Get('api/session')
  @ConsolePublic()
  session(@Req() request: ConsoleRequest): ConsoleSessionBody {
    const auth = this.extras.guard !== undefined ? 'guard' : this.sessions.enabled ? 'api-key' : 'none';
    const body: ConsoleSessionBody = {
      mode: this.options.mode,
      production: this.options.production,
      deny: [...this.options.deny],
      readOnlyStreams: [...this.options.readOnlyPatterns],
      views: this.peers.views(),
      auth,
      authenticated: auth !== 'api-key' || request.consoleSession !== undefined,
    };
    if (request.consoleSession !== undefined) body.csrfToken = request.consoleSession.csrfToken;
    return body;
  }

  @Post('api/login')
  @HttpCode(204)
  @ConsolePublic()
  login(
    @Req() request: ConsoleRequest,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: unknown,
  ): void {
    if (!this.sessions.enabled) throw new NotFoundException('this console has no API-key login');
    const { apiKey } = bodyObject(body);
    if (!this.sessions.checkKey(apiKey)) {
      this.audit.record({
        who: actor(request),
        action: 'login',
        outcome: 'refused',
        detail: 'wrong API key',
      });
      throw new UnauthorizedException('wrong API key');
    }
    const issued = this.sessions.issue();
    this.adapterHost.httpAdapter.setHeader(
      response,
      'Set-Cookie',
      this.sessions.setCookie(issued.value, this.cookiePath(request), this.secure(request)),
    );
    this.audit.record({ who: 'api-key', action: 'login', outcome: 'ok', detail: '' });
  }

  /**
   * Clears the browser's cookie and signs the session out on every instance (`{ "everywhere": true }`:
   * every session issued so far). 503 when Redis did not record it: the cookie is cleared and this
   * instance refuses the session, but a copy of it stays valid on the others until it expires.
   */
  @Post('api/logout')
  @HttpCode(204)
  @ConsolePublic()
  async logout(
    @Req() request: ConsoleRequest,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<void> {
    if (!this.sessions.enabled) return;
    const { everywhere } = bodyObject(body);
    if (everywhere !== undefined && typeof everywhere !== 'boolean') {
      throw new BadRequestException(`"everywhere" must be a boolean, got ${JSON.stringify(everywhere)}`);
    }
    const session = request.consoleSession;
    if (everywhere === true && session === undefined) {
      throw new UnauthorizedException('log in to sign every session out');
    }
    this.adapterHost.httpAdapter.setHeader(
      response,
      'Set-Cookie',
      this.sessions.setCookie(undefined, this.cookiePath(request), this.secure(request)),
    );
    if (session === undefined) return;
    const detail = everywhere === true ? 'every session' : '';
    try {
      await (everywhere === true ? this.revocations.revokeAll() : this.revocations.revoke(session));
    } catch (error) {
      const failure = asHttpError(this.connection, error, 'the logout');
      this.audit.record({
        who: 'api-key',
        action: 'logout',
        outcome: 'failed',
        detail: `${detail === '' ? '' : `${detail}; `}signed out on this instance only: ${failure.message}`,
      });
      throw failure;
    }
    this.audit.record({ who: 'api-key', action: 'logout', outcome: 'ok', detail });
  }

  /** Whether the session cookie gets `Secure` (the `secureCookie` option). */
  private secure(request: ConsoleRequest): boolean {
    const { secureCookie } = this.options;
    return secureCookie === 'auto' ? overTls(request) : secureCookie;
  }

  /** The console's base path as the browser sees it (the app's global prefix included). */
  private cookiePath(request: ConsoleRequest): string {
    const path = requestPath(request);
    const at = path.lastIndexOf('/api/');
    return at <= 0 ? this.extras.path : path.slice(0, at);
  }
}
