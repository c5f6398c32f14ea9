import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, tap } from 'rxjs';

import type { ConsoleActionMetadata } from './console-action.decorator.js';
import { ConsoleAudit } from './console-audit.js';
import { CONSOLE_ACTION_METADATA } from './console.constants.js';
import { actor, type ConsoleRequest } from './console-request.js';
import { StreamsView } from './streams.view.js';

/** Characters of a request or result quoted in an audit line. */
const QUOTE_CHARACTERS = 300;

function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > QUOTE_CHARACTERS ? `${text.slice(0, QUOTE_CHARACTERS - 3)}...` : text;
}

/**
 * Audits every console action that ran (those the guard refused are audited there): who, what,
 * on which stream and group, what was asked (the body, without `confirm`) and what came of it, or
 * the error it answered. Also drops the console's one-second caches so the next read shows it.
 */
@Injectable()
export class ConsoleAuditInterceptor implements NestInterceptor {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(ConsoleAudit) private readonly audit: ConsoleAudit,
    @Inject(StreamsView) private readonly streams: StreamsView,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const metadata = this.reflector.get<ConsoleActionMetadata | undefined>(
      CONSOLE_ACTION_METADATA,
      context.getHandler(),
    );
    if (metadata === undefined) return next.handle();
    const request = context.switchToHttp().getRequest<ConsoleRequest>();
    const params = (request.params ?? {}) as Record<string, unknown>;
    const { confirm: _confirm, ...asked } = (request.body ?? {}) as Record<string, unknown>;
    const base = {
      who: actor(request),
      action: metadata.action,
      stream: typeof params.stream === 'string' ? params.stream : undefined,
      group: typeof params.group === 'string' ? params.group : undefined,
    };
    return next.handle().pipe(
      tap({
        next: (result) => {
          this.streams.invalidate();
          this.audit.record({ ...base, outcome: 'ok', detail: `${quote(asked)} -> ${quote(result)}` });
        },
        error: (error: unknown) => {
          this.streams.invalidate();
          const message = error instanceof Error ? error.message : String(error);
          this.audit.record({ ...base, outcome: 'failed', detail: `${quote(asked)}: ${message}` });
        },
      }),
    );
  }
}
