import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';

import { CONSOLE_RESOLVED_OPTIONS, CONSOLE_SESSION_COOKIE } from './console.constants.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';

/** A session the cookie proved. */
export interface ApiKeySession {
  /** Random, per login. */
  id: string;
  /** What writes must send as `X-CSRF-Token`: an HMAC of the id, so it is never stored. */
  csrfToken: string;
  /** When the cookie stops being accepted (ms since the epoch). */
  expiresAt: number;
}

/** What a login hands out. */
export interface IssuedSession extends ApiKeySession {
  /** The cookie's value. */
  value: string;
  maxAgeSeconds: number;
}

const VERSION = 'v1';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The value of cookie `name` in a `Cookie` header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    if (part.slice(0, equals).trim() === name) return part.slice(equals + 1).trim();
  }
  return undefined;
}

/**
 * The built-in auth for apps without their own: an API key, compared in constant time, exchanged
 * for a stateless session cookie `v1.<expires>.<id>.<HMAC-SHA256>` signed with `sessionSecret`
 * (HttpOnly, SameSite=Strict, Path=<console path>), and a CSRF token derived from the session id.
 * Nothing is stored to accept one: any instance with the same secret accepts the cookie until it
 * expires, unless it was signed out (see session-revocations.ts).
 */
@Injectable()
export class ApiKeySessions {
  private readonly keyDigest?: Buffer;

  constructor(@Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions) {
    if (options.apiKey !== undefined) this.keyDigest = sha256(options.apiKey);
  }

  /** True when the console was given an `apiKey`. */
  get enabled(): boolean {
    return this.keyDigest !== undefined;
  }

  /** Whether `candidate` is the API key; constant time whatever its length. */
  checkKey(candidate: unknown): boolean {
    if (this.keyDigest === undefined || typeof candidate !== 'string') return false;
    return timingSafeEqual(sha256(candidate), this.keyDigest);
  }

  issue(now = Date.now()): IssuedSession {
    const id = randomBytes(16).toString('base64url');
    const expiresAt = now + this.options.sessionTtlMs;
    const payload = `${VERSION}.${expiresAt.toString(36)}.${id}`;
    return {
      id,
      csrfToken: this.csrfToken(id),
      expiresAt,
      value: `${payload}.${this.sign(payload)}`,
      maxAgeSeconds: Math.floor(this.options.sessionTtlMs / 1_000),
    };
  }

  /** The session the request's cookie proves, or undefined (absent, forged, expired). */
  verify(cookieHeader: string | undefined, now = Date.now()): ApiKeySession | undefined {
    const value = cookieValue(cookieHeader, CONSOLE_SESSION_COOKIE);
    if (value === undefined || value.length > 200) return undefined;
    const parts = value.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
    const [, expires, id, mac] = parts as [string, string, string, string];
    const expected = Buffer.from(this.sign(`${VERSION}.${expires}.${id}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const expiresAt = parseInt(expires, 36);
    if (!(expiresAt > now)) return undefined;
    return { id, csrfToken: this.csrfToken(id), expiresAt };
  }

  /** Whether `token` is the session's CSRF token (constant time). */
  checkCsrf(session: ApiKeySession, token: string | undefined): boolean {
    if (token === undefined) return false;
    const expected = Buffer.from(session.csrfToken);
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** The `Set-Cookie` value of a session cookie (or of its removal, with `value` undefined). */
  setCookie(value: string | undefined, path: string, secure: boolean): string {
    const attributes = [
      `${CONSOLE_SESSION_COOKIE}=${value ?? ''}`,
      `Path=${path}`,
      'HttpOnly',
      'SameSite=Strict',
      `Max-Age=${value === undefined ? 0 : Math.floor(this.options.sessionTtlMs / 1_000)}`,
    ];
    if (secure) attributes.push('Secure');
    return attributes.join('; ');
  }

  private csrfToken(id: string): string {
    return createHmac('sha256', this.options.sessionSecret).update(`csrf.${id}`).digest('base64url');
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.options.sessionSecret).update(payload).digest('base64url');
  }
}
