import type { RedisConnection, RedisKeyspace } from '@redkit/redis';

import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { wholeNumber } from './messaging-options.validator.js';

/** What `runOnce` did. */
export type RunOnceResult<R> = { ran: true; result: R } | { ran: false };

/** How long an id is remembered when the call does not say: one day. */
const DEFAULT_TTL_MS = 86_400_000;

/**
 * Processed ids with a TTL, the usual companion of at-least-once delivery: a redelivered entry (or
 * event) whose id was already processed is skipped. Ids live at
 * `<prefix>:messaging:processed:<scope>:<id>` (SET NX PX).
 *
 * @example
 * await idempotency.runOnce('billing', message.id, () => charge(message.data));
 */
export class IdempotencyStore {
  private readonly keyspace: RedisKeyspace;

  constructor(private readonly connection: RedisConnection) {
    this.keyspace = connection.keyspace(MESSAGING_KEY_MODULE);
  }

  /**
   * Marks `id` processed in `scope` unless it already is; true when this call marked it. Use it
   * when the work itself is idempotent or cannot fail after this point.
   */
  async markProcessed(scope: string, id: string, ttlMs = DEFAULT_TTL_MS): Promise<boolean> {
    wholeNumber('ttlMs', ttlMs, 1);
    const reply = await this.connection.client
      .set(this.keyOf(scope, id), '1', 'PX', ttlMs, 'NX')
      .catch(this.refused);
    return reply === 'OK';
  }

  /** True when `id` is marked processed in `scope`. */
  async isProcessed(scope: string, id: string): Promise<boolean> {
    return (await this.connection.client.exists(this.keyOf(scope, id)).catch(this.refused)) === 1;
  }

  /** Forgets `id`, so that it is processed again next time. */
  async forget(scope: string, id: string): Promise<void> {
    await this.connection.client.del(this.keyOf(scope, id)).catch(this.refused);
  }

  /**
   * Runs `work` unless `id` was already processed (or is being processed) in `scope`. The id is
   * marked before `work` starts and forgotten again if it throws, so a failed attempt can be retried
   * while two concurrent deliveries never both run it. A crash during `work` leaves the id marked:
   * keep `ttlMs` above the redelivery delay only when skipping such a retry is acceptable.
   */
  async runOnce<R>(
    scope: string,
    id: string,
    work: () => R | Promise<R>,
    ttlMs = DEFAULT_TTL_MS,
  ): Promise<RunOnceResult<Awaited<R>>> {
    if (!(await this.markProcessed(scope, id, ttlMs))) return { ran: false };
    try {
      return { ran: true, result: await work() };
    } catch (error) {
      await this.forget(scope, id).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Rethrows `error`: a refusal for the ACL user as the RedisPermissionError it stands for, logged once
   * and reported by the connection's health.
   */
  private readonly refused = (error: unknown): never => {
    throw this.connection.notePermission('messaging', error) ?? error;
  };

  private keyOf(scope: string, id: string): string {
    return this.keyspace.key('processed', scope, id);
  }
}
