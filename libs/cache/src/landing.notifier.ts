import type { RedisClient } from '@redkit/redis';
import { Cluster } from 'ioredis';

/** A duplicate for SUBSCRIBE; on a standalone server ioredis's auto-resubscribe is off (see start). */
function subscriberOf(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate() : client.duplicate({ autoResubscribe: false });
}

/** A wait for one key's value to land; `cancel` stops waiting. */
export interface LandingWait {
  promise: Promise<boolean>;
  cancel(): void;
}

/**
 * Wakes instances waiting for a value another instance is loading (distributed single-flight).
 * The loader's instance publishes the key on one channel when its value is stored; waiters resolve
 * at once instead of polling. A lost message costs a waiter its `waitMs`, never correctness.
 */
export class LandingNotifier {
  private subscriber?: RedisClient;
  private readonly waiters = new Map<string, Set<(landed: boolean) => void>>();

  constructor(
    private readonly client: RedisClient,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    const subscriber = subscriberOf(this.client);
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    // ioredis's own resubscription after a reconnect leaves its promise unhandled when the
    // connection drops again at once; this one is caught (a failure is retried on the next ready).
    let subscribed = false;
    if (!(subscriber instanceof Cluster)) {
      subscriber.on('ready', () => {
        if (subscribed) subscriber.subscribe(this.channel).catch(() => undefined);
      });
    }
    subscriber.on('message', (channel: string, key: string) => {
      if (channel !== this.channel) return;
      const waiting = this.waiters.get(key);
      if (waiting === undefined) return;
      this.waiters.delete(key);
      for (const wake of waiting) wake(true);
    });
    if (subscriber.status === 'wait') await subscriber.connect();
    await subscriber.subscribe(this.channel);
    subscribed = true;
  }

  /** Tells every waiter (on every instance) that `key` has a value now. Never throws. */
  async announce(key: string): Promise<void> {
    await this.client.publish(this.channel, key).catch(() => undefined);
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
    this.subscriber?.disconnect();
  }
}
