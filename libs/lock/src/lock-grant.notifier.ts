import { randomUUID } from 'node:crypto';

import { DedicatedSubscriber, RedkitLogger, type RedisClient } from '@redkit/redis';

/** What a waiter exposes to the notifier: told when the lock was handed to it. */
export interface GrantListener {
  /** `receivedAt`: when the notice arrived (epoch ms). */
  granted(fence: number, receivedAt: number): void;
}

/** Most grants kept for waiters not listening yet. */
const EARLY_GRANTS_LIMIT = 1_000;

/** How long start() waits for the subscription before waiters rely on their timers alone. */
const START_TIMEOUT_MS = 2_000;

/**
 * The one subscriber connection of a `LockService` (single-server mode). It listens on a channel of
 * its own, `<prefix>:lock:grants:<uuid>`; the release script publishes `"<token> <fence>"` there when
 * it hands a lock to one of this instance's waiters, and the waiter starts at once.
 *
 * Nothing depends on a notice arriving: a waiter that misses one (the subscriber reconnecting, a
 * Cluster node failing over) finds out on its retry timer, since the acquire script recognises a lock
 * already handed to the caller. One channel per instance rather than per resource means no
 * subscribe round trip (and no race against the release) when a waiter starts waiting.
 */
export class LockGrantNotifier {
  readonly channel: string;
  private readonly listeners = new Map<string, GrantListener>();
  /**
   * Grants that arrived before their waiter listened: the notice can overtake the reply to the
   * attempt that queued the waiter (they come on different connections). Dropped wholesale past a
   * bound; a grant nobody claims belongs to a waiter that gave up, whose leaving released it.
   */
  private readonly early = new Map<string, [fence: number, receivedAt: number]>();
  private readonly logger = new RedkitLogger('LockGrantNotifier');
  private readonly subscriber: DedicatedSubscriber;
  private starting?: Promise<void>;
  /** One warning per outage: set by the first failure, cleared once listening again. */
  private warned = false;
  private stopped = false;

  constructor(client: RedisClient, keyPrefix: string) {
    this.channel = `${keyPrefix}:lock:grants:${randomUUID()}`;
    this.subscriber = new DedicatedSubscriber({
      client,
      role: 'lock-grants',
      channels: [this.channel],
      onMessage: this.onMessage,
      onListening: () => (this.warned = false),
      onError: (error) => this.warn(error),
      startTimeoutMs: START_TIMEOUT_MS,
    });
  }

  /** Connects and subscribes; resolves when listening, or after a bound (waiters then use timers). */
  start(): Promise<void> {
    // Past the bound it keeps trying in the background; a refusal (ACL) is final and said once.
    this.starting ??= this.subscriber.start().catch((error: unknown) => this.warn(error));
    return this.starting;
  }

  /** Listens for a grant to `token` until {@link forget}. */
  listen(token: string, listener: GrantListener): void {
    const early = this.early.get(token);
    if (early !== undefined) {
      this.early.delete(token);
      listener.granted(early[0], early[1]);
      return;
    }
    this.listeners.set(token, listener);
  }

  forget(token: string): void {
    this.listeners.delete(token);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
    await this.subscriber.stop();
  }

  private warn(error: unknown): void {
    if (this.warned || this.stopped) return;
    this.warned = true;
    this.logger.warn(
      `lock grant subscriber: ${error instanceof Error ? error.message : String(error)} ` +
        '(waiters fall back to their retry timers)',
    );
  }

  private readonly onMessage = (_channel: string, message: string): void => {
    const space = message.lastIndexOf(' ');
    if (space < 0) return;
    const token = message.slice(0, space);
    const fence = Number(message.slice(space + 1));
    if (!(fence > 0)) return;
    const listener = this.listeners.get(token);
    if (listener !== undefined) return listener.granted(fence, Date.now());
    if (this.early.size >= EARLY_GRANTS_LIMIT) this.early.clear();
    this.early.set(token, [fence, Date.now()]);
  };
}
