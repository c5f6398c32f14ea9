import type { DurableReply } from '@redkit/redis';

import type { Lock } from './lock.js';
import type { LockDurabilityError } from './lock.errors.js';
import type { BatchedTake } from './lock.batcher.js';
import type { Cohort } from './lock-cohort.js';
import type { ResolvedAcquireOptions } from './lock-options.validator.js';

/** What one acquisition round returned. */
export interface Attempt {
  /** > 0: held, with this fencing token. */
  fence: number;
  expiresAt: number;
  /** When not held: the holder's remaining TTL, a hint for the next retry (0 when unknown). */
  holderTtlMs: number;
  /** When not held: fewer servers than needed answered at all. */
  unavailable: boolean;
  error?: unknown;
  /** Durable mode: the lock was granted, too few replicas acknowledged it, and it was released. */
  unreplicated?: LockDurabilityError;
}

export function unavailable(error: unknown): Attempt {
  return { fence: 0, expiresAt: 0, holderTtlMs: 0, unavailable: true, error };
}

/** @internal What a {@link FirstTake} asks of the service whose acquisition it is. */
export interface FirstTakeOwner {
  /** The take script granted the lock: the Lock, held by the cohort when there is one. */
  tookLock(take: FirstTake, fence: number): Lock;
  /** The take script found the lock taken (or failed): the rest of the acquisition, waiting. */
  waitAfterFirstTake(take: FirstTake, first: Attempt): Promise<Lock>;
  /** Durable mode: counts a grant's WAIT outcome; true when enough replicas acknowledged it. */
  acknowledgedGrant(waited: DurableReply<unknown>): boolean;
  /** Durable mode: the take script granted the lock, but too few replicas acknowledged it. */
  unreplicatedTake(take: FirstTake, waited: DurableReply<unknown>): Promise<never>;
  /** `error`, or the RedisPermissionError it stands for, recorded on the connection. */
  noteRefusal(error: unknown): unknown;
}

/**
 * The first attempt of an acquisition in single-server mode, and the acquisition's promise: the take
 * script's reply settles it directly (from the batch's reply when batching), so the uncontended
 * acquisition is one promise, with no async function or `.then` of its own in between.
 */
export class FirstTake implements BatchedTake {
  readonly promise: Promise<Lock>;
  /** The take script's keys and TTL (what the batch sends). */
  readonly owner: string;
  readonly fence: string;
  readonly ttlMs: number;
  private resolve!: (lock: Lock | Promise<Lock>) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly service: FirstTakeOwner,
    readonly resource: string,
    readonly keys: string[][],
    readonly token: string,
    readonly call: ResolvedAcquireOptions,
    readonly signal: AbortSignal | undefined,
    readonly startedAt: number,
    readonly sentAt: number,
    readonly cohort: Cohort | undefined,
  ) {
    const serverKeys = keys[0] as string[];
    this.owner = serverKeys[0] as string;
    this.fence = serverKeys[1] as string;
    this.ttlMs = call.ttlMs;
    this.promise = new Promise<Lock>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** `waited`: durable mode's WAIT outcome for the take (and the other takes of its group). */
  settle(reply: number, waited?: DurableReply<unknown>): void {
    try {
      this.resolve(
        reply > 0
          ? waited === undefined || this.service.acknowledgedGrant(waited)
            ? this.service.tookLock(this, reply)
            : this.service.unreplicatedTake(this, waited)
          : this.service.waitAfterFirstTake(this, {
              fence: 0,
              expiresAt: 0,
              holderTtlMs: -reply,
              unavailable: false,
            }),
      );
    } catch (error) {
      this.reject(error);
    }
  }

  fail(error: unknown): void {
    try {
      this.resolve(this.service.waitAfterFirstTake(this, unavailable(this.service.noteRefusal(error))));
    } catch (failure) {
      this.reject(failure);
    }
  }
}
