import { createHash, timingSafeEqual } from 'node:crypto';

import {
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';

import type { AppConfig } from '../app.config.js';
import { APP_CONFIG } from '../app.constants.js';

/** Header carrying the admin API key. */
export const ADMIN_API_KEY_HEADER = 'x-api-key';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Admits a request whose `x-api-key` equals the configured `adminApiKey` (compared in constant
 * time): 401 without it or with another key, 403 when no key is configured (the admin routes are
 * then off).
 */
@Injectable()
export class AdminApiKeyGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = config.adminApiKey === undefined ? undefined : digest(config.adminApiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expected === undefined) {
      throw new ForbiddenException('the admin API is disabled: start the API with ADMIN_API_KEY set');
    }
    const header = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers[
      ADMIN_API_KEY_HEADER
    ];
    if (typeof header !== 'string' || !timingSafeEqual(digest(header), this.expected)) {
      throw new UnauthorizedException(`a valid ${ADMIN_API_KEY_HEADER} header is required`);
    }
    return true;
  }
}
