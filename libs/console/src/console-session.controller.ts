import {
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

import { ApiKeySessions } from './api-key-sessions.js';
import { ConsolePublic } from './console-action.decorator.js';
import type { ConsoleSessionBody } from './console-api.types.js';
import { ConsoleAudit } from './console-audit.js';
import { CONSOLE_EXTRAS, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import { bodyObject } from './console-input.js';
import type { ResolvedConsoleExtras, ResolvedConsoleOptions } from './console-options.validator.js';
import { ConsolePeers } from './console-peers.js';
import { actor, requestPath, type ConsoleRequest } from './console-request.js';

/** Whether the request came over TLS, so the cookie gets `Secure`. */
function overTls(request: ConsoleRequest): boolean {
  const socket = (request.socket ?? request.raw?.socket) as { encrypted?: boolean } | null | undefined;
  return socket?.encrypted === true;
}

/** The session: what the page may do, and the API-key login and logout. */
export class ConsoleSessionController {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Inject(CONSOLE_EXTRAS) private readonly extras: ResolvedConsoleExtras,
    @Inject(ApiKeySessions) private readonly sessions: ApiKeySessions,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
    @Inject(ConsoleAudit) private readonly audit: ConsoleAudit,
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
      this.sessions.setCookie(issued.value, this.cookiePath(request), overTls(request)),
    );
    this.audit.record({ who: 'api-key', action: 'login', outcome: 'ok', detail: '' });
  }

  @Post('api/logout')
  @HttpCode(204)
  @ConsolePublic()
  logout(@Req() request: ConsoleRequest, @Res({ passthrough: true }) response: unknown): void {
    if (!this.sessions.enabled) return;
    this.adapterHost.httpAdapter.setHeader(
      response,
      'Set-Cookie',
      this.sessions.setCookie(undefined, this.cookiePath(request), overTls(request)),
    );
  }

  /** The console's base path as the browser sees it (the app's global prefix included). */
  private cookiePath(request: ConsoleRequest): string {
    const path = requestPath(request);
    const at = path.lastIndexOf('/api/');
    return at <= 0 ? this.extras.path : path.slice(0, at);
  }
}
