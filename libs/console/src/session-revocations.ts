import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RedisConnection, RedisKeyspace } from '@redkit/redis';

import type { ApiKeySession } from './api-key-sessions.js';
import { CONSOLE_CONNECTION, CONSOLE_LOG_CONTEXT, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';

/** At most one warning this often while Redis cannot say whether sessions were signed out. */
const WARN_EVERY_MS = 30_000;
/** Sessions this instance signed out, remembered beside Redis; pruned of expired ones past this. */
const LOCAL_PRUNE_AT = 1_000;

/**
 * Logout that holds on every instance. A session cookie is stateless (see api-key-sessions.ts), so a
 * copy of it would stay valid until it expires; a logout therefore writes the session's id to
 * `<prefix>:console:{sessions}:revoked:<id>` until the cookie would have expired anyway, and a
 * logout "everywhere" writes `<prefix>:console:{sessions}:not-before`, the time before which every
 * session was issued that no instance accepts any more (it expires after `sessionTtlMs`, when those
 * sessions have expired by themselves). Both keys expire: nothing is left behind.
 *
 * The guard reads both with one MGET (one hash tag, so one slot on a Cluster) per request that
 * carries a session. When Redis does not answer, a session is accepted on its signature alone (the
 * console must stay usable while Redis is sick), except one this instance signed out itself, which
 * it remembers; a warning says so at most every 30 s.
 */
@Injectable()
export class SessionRevocations {
  private readonly logger = new Logger(CONSOLE_LOG_CONTEXT);
  private readonly notBeforeKey: string;
  private readonly keyspace: RedisKeyspace;
  /** Session id → when its cookie expires, for the sessions this instance signed out. */
  private readonly local = new Map<string, number>();
  private localNotBefore = 0;
  private lastWarning = -Infinity;

  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
  ) {
    this.keyspace = connection.keyspace('console');
    this.notBeforeKey = this.keyspace.tagged('sessions', 'not-before');
  }

  /** Signs `session` out on every instance; rejects when Redis did not record it (this instance still refuses it). */
  async revoke(session: ApiKeySession, now = Date.now()): Promise<void> {
    const remainingMs = session.expiresAt - now;
    if (remainingMs <= 0) return;
    this.remember(session.id, session.expiresAt, now);
    await this.connection.client.set(this.revokedKey(session.id), '1', 'PX', remainingMs);
  }

  /**
   * Signs out every session issued up to `now`, on every instance; rejects when Redis did not
   * record it (this instance still refuses them).
   */
  async revokeAll(now = Date.now()): Promise<void> {
    this.localNotBefore = Math.max(this.localNotBefore, now);
    await this.connection.client.set(this.notBeforeKey, String(now), 'PX', this.options.sessionTtlMs);
  }

  /** Whether `session` was signed out, here or on another instance. */
  async isRevoked(session: ApiKeySession): Promise<boolean> {
    const issuedAt = session.expiresAt - this.options.sessionTtlMs;
    if (this.local.has(session.id) || issuedAt <= this.localNotBefore) return true;
    let reply: (string | null)[];
    try {
      reply = await this.connection.client.mget(this.revokedKey(session.id), this.notBeforeKey);
    } catch (error) {
      this.warn(error);
      return false;
    }
    const [revoked, notBefore] = reply;
    return revoked !== null || (notBefore != null && issuedAt <= Number(notBefore));
  }

  private revokedKey(id: string): string {
    return this.keyspace.tagged('sessions', 'revoked', id);
  }

  private remember(id: string, expiresAt: number, now: number): void {
    if (this.local.size >= LOCAL_PRUNE_AT) {
      for (const [known, until] of this.local) if (until <= now) this.local.delete(known);
    }
    this.local.set(id, expiresAt);
  }

  private warn(error: unknown): void {
    const refused = this.connection.notePermission('console', error);
    const now = performance.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    const reason = refused?.message ?? (error instanceof Error ? error.message : String(error));
    this.logger.warn(
      `cannot tell whether console sessions were signed out on other instances (${reason}); accepting them on their signature meanwhile`,
    );
  }
}
