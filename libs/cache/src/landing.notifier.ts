import { DedicatedSubscriber, type RedisClient } from '@redkit/redis';

import { CacheError } from './cache.errors.js';

/** A wait for one key's value to land; `cancel` stops waiting. */
export interface LandingWait {
  promise: Promise<boolean>;
  cancel(): void;
}

/**
 * Wakes instances waiting for a value another instance is loading (distributed single-flight).
 * The lease holder's scripts publish the key on one channel when its value is stored (or the lease
 * ends without one), and only when a waiter marked the lease; waiters resolve at once instead of
 * polling. A lost message costs a waiter its `waitMs`, never correctness. With `sharded` (a Cluster)
 * the channel is a shard channel, and the holder SPUBLISHes (its scripts may not: the channel's slot
 * is usually another master's).
 */
export class LandingNotifier {
  private readonly subscriber: DedicatedSubscriber;
  private readonly waiters = new Map<string, Set<(landed: boolean) => void>>();

  constructor(
    client: RedisClient,
    private readonly channel: string,
    sharded = false,
  ) {
    this.subscriber = new DedicatedSubscriber({
      client,
      role: 'cache-landing',
      sharded,
      channels: [channel],
      onMessage: this.onMessage,
      // A notice missed while disconnected costs its waiter `waitMs`, nothing more: nothing to report.
      onError: () => undefined,
    });
  }

  /**
   * Resolves once subscribed. Rejects after the client's connectTimeout plus commandTimeout when Redis
   * cannot be reached (it keeps trying in the background), or at once when Redis refuses SUBSCRIBE.
   */
  start(): Promise<void> {
    return this.subscriber.start().catch((error: unknown) => {
      throw new CacheError(error instanceof Error ? error.message : String(error), { cause: error });
    });
  }

  /** Resolves true when `key` lands, false after `timeoutMs`. */
  wait(key: string, timeoutMs: number): LandingWait {
    let settle!: (landed: boolean) => void;
    const promise = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => settle(false), timeoutMs);
      settle = (landed) => {
        clearTimeout(timer);
        this.waiters.get(key)?.delete(settle);
        resolve(landed);
      };
    });
    let waiting = this.waiters.get(key);
    if (waiting === undefined) this.waiters.set(key, (waiting = new Set()));
    waiting.add(settle);
    return { promise, cancel: () => settle(false) };
  }

  async stop(): Promise<void> {
    for (const waiting of this.waiters.values()) for (const wake of waiting) wake(false);
    this.waiters.clear();
    await this.subscriber.stop();
  }

  private readonly onMessage = (channel: string, key: string): void => {
    if (channel !== this.channel) return;
    const waiting = this.waiters.get(key);
    if (waiting === undefined) return;
    this.waiters.delete(key);
    for (const wake of waiting) wake(true);
  };
}
