import {
  runScriptDurably,
  TurnQueue,
  type DurableReply,
  type RedisClient,
  type RedisScript,
  type ResolvedDurability,
  type ScriptArgument,
} from '@redkit/redis';

import {
  releaseBatchScript,
  releaseScript,
  releaseUncontendedBatchScript,
  releaseUncontendedScript,
  takeBatchScript,
  takeScript,
} from './lock-scripts.js';

/** Where the reply of one batched script call goes. */
export interface BatchReplyTarget {
  /**
   * The script's reply for this call alone; in durable mode (takes only), with what the WAIT that
   * followed the batch answered.
   */
  settle(reply: number, waited?: DurableReply<unknown>): void;
  /** The batch's call failed (or timed out): every call of it gets the error. */
  fail(error: unknown): void;
}

/** A first attempt waiting for its batch: the take script's keys and arguments. */
export interface BatchedTake extends BatchReplyTarget {
  readonly owner: string;
  readonly fence: string;
  readonly token: string;
  readonly ttlMs: number;
}

/** A release waiting for its batch: the release script's four keys and the holder's token. */
export interface BatchedRelease extends BatchReplyTarget {
  readonly keys: readonly string[];
  readonly token: string;
}

/** A call whose reply settles a promise (the Redlock rounds, which wait for every server). */
class PromisedTake implements BatchedTake {
  readonly promise: Promise<number>;
  settle!: (reply: number) => void;
  fail!: (error: unknown) => void;

  constructor(
    readonly owner: string,
    readonly fence: string,
    readonly token: string,
    readonly ttlMs: number,
  ) {
    this.promise = new Promise<number>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
  }
}

/**
 * A release whose answer (held or not) settles a promise. An uncontended one tries the two-key script
 * first and, when that leaves the decision to the full release script (reply 2), joins the next
 * batch of full releases.
 */
class PromisedRelease implements BatchedRelease {
  readonly promise: Promise<boolean>;
  private resolve!: (held: boolean) => void;
  fail!: (error: unknown) => void;

  constructor(
    private readonly batcher: LockBatcher,
    readonly keys: readonly string[],
    readonly token: string,
    private uncontended: boolean,
  ) {
    this.promise = new Promise<boolean>((resolve, reject) => {
      this.resolve = resolve;
      this.fail = reject;
    });
  }

  settle(reply: number): void {
    if (reply === 2 && this.uncontended) {
      this.uncontended = false;
      this.batcher.release(this);
      return;
    }
    this.resolve(reply === 1);
  }
}

/**
 * Coalesces the uncontended script calls of one event-loop turn (single-server mode, standalone
 * Redis): the first attempts of acquisitions go to Redis as ONE EVALSHA of the batch take script,
 * the releases as ONE EVALSHA of the batch release script (releases of locks got on a first attempt:
 * of the two-key uncontended batch release script, falling back to the full one when waiters are
 * queued). Each resource in a batch is handled
 * exactly as its own call of the one-resource script would handle it (`SET NX PX` + fence `INCRBY`;
 * compare-and-delete + hand-over to the oldest waiter with its notice), one after the other in
 * arrival order, atomically, and each caller gets its own reply. An ioredis command costs the client
 * more CPU than these scripts cost Redis (a Command, a promise, its own reply frame), and every
 * script call has a fixed cost on the server, so one call for N amortizes both. A lone call in its
 * turn runs the one-resource script.
 *
 * Calls are collected by a {@link TurnQueue} and each batch goes to the connection at once
 * ({@link RedisScript.runNow}), so coalescing adds no wait of its own. The calls of a batch share its fate: when
 * the call fails or times out (the connection's command timeout), each of them gets that error,
 * exactly as its own call would have.
 *
 * A call is its own reply target ({@link BatchReplyTarget}): the acquisition or release it belongs
 * to is settled straight from the batch's reply, without a promise of the batcher's in between.
 *
 * Not used on a Cluster: a script's keys must share a slot, and each resource is a hash tag of its
 * own, so there every call is its own script (ioredis pipelines them per node).
 */
export class LockBatcher {
  // At most TURN_BATCH_WEIGHT calls per batch; more in one turn go out as several, overlapping.
  private readonly takes = new TurnQueue<BatchedTake>((batch) => this.sendTakes(batch));
  private readonly releases = new TurnQueue<BatchedRelease>((batch) => this.sendReleases(batch));
  private readonly uncontendedReleases = new TurnQueue<BatchedRelease>((batch) =>
    this.sendUncontendedReleases(batch),
  );

  /**
   * `refusal`: what a failed batch call's error is handed to its calls as (the RedisPermissionError
   * a refusal for the ACL user stands for, recorded on the connection); by default the error itself.
   * `durability`: durable mode, where each batch of takes is followed by WAIT (the batches of one
   * turn share it) and its calls are settled with its answer; releases are not waited for.
   */
  constructor(
    private readonly client: RedisClient,
    private readonly refusal: (error: unknown) => unknown = (error) => error,
    private readonly durability?: ResolvedDurability,
  ) {}

  /** Queues a first attempt for this turn's batch; its reply goes to `call.settle`. */
  take(call: BatchedTake): void {
    this.takes.push(call);
  }

  /** Queues a release for this turn's batch; its reply (1 when the caller held it) goes to `call.settle`. */
  release(call: BatchedRelease): void {
    this.releases.push(call);
  }

  /** The take script's reply for one resource: its fence (> 0) or minus the holder's TTL. */
  takeReply(owner: string, fence: string, token: string, ttlMs: number): Promise<number> {
    const call = new PromisedTake(owner, fence, token, ttlMs);
    this.takes.push(call);
    return call.promise;
  }

  /**
   * True when the caller held the lock (it is now released or handed over). `uncontended`: the lock
   * was got on a first attempt, so most likely nobody waits for it; the two-key script is tried first
   * (see releaseUncontendedScript), the full one only when waiters are queued or the lock is no
   * longer the caller's.
   */
  releaseHeld(keys: readonly string[], token: string, uncontended: boolean): Promise<boolean> {
    const call = new PromisedRelease(this, keys, token, uncontended);
    (uncontended ? this.uncontendedReleases : this.releases).push(call);
    return call.promise;
  }

  private sendTakes(batch: BatchedTake[]): void {
    if (batch.length === 1) {
      const call = batch[0] as BatchedTake;
      this.send(takeScript, batch, [call.owner, call.fence], [call.token, call.ttlMs], this.durability);
      return;
    }
    const keys: string[] = [];
    const ttlMs = (batch[0] as BatchedTake).ttlMs;
    let shared = true;
    for (const call of batch) {
      keys.push(call.owner, call.fence);
      if (call.ttlMs !== ttlMs) shared = false;
    }
    // One TTL for the whole batch (the common case), else the TTL of each take after its token.
    const args: ScriptArgument[] = [shared ? String(ttlMs) : ''];
    if (shared) for (const call of batch) args.push(call.token);
    else for (const call of batch) args.push(call.token, call.ttlMs);
    this.send(takeBatchScript, batch, keys, args, this.durability);
  }

  private sendReleases(batch: BatchedRelease[]): void {
    if (batch.length === 1) {
      const call = batch[0] as BatchedRelease;
      this.send(releaseScript, batch, call.keys, [call.token]);
      return;
    }
    const keys: string[] = [];
    const args: ScriptArgument[] = [];
    for (const call of batch) {
      const own = call.keys;
      keys.push(own[0] as string, own[1] as string, own[2] as string, own[3] as string);
      args.push(call.token);
    }
    this.send(releaseBatchScript, batch, keys, args);
  }

  private sendUncontendedReleases(batch: BatchedRelease[]): void {
    if (batch.length === 1) {
      const call = batch[0] as BatchedRelease;
      this.send(
        releaseUncontendedScript,
        batch,
        [call.keys[0] as string, call.keys[2] as string],
        [call.token],
      );
      return;
    }
    const keys: string[] = [];
    const args: ScriptArgument[] = [];
    for (const call of batch) {
      keys.push(call.keys[0] as string, call.keys[2] as string);
      args.push(call.token);
    }
    this.send(releaseUncontendedBatchScript, batch, keys, args);
  }

  private send(
    script: RedisScript<never, unknown>,
    batch: readonly BatchReplyTarget[],
    keys: readonly string[],
    args: ScriptArgument[],
    durability?: ResolvedDurability,
  ): void {
    const run = script as RedisScript<ScriptArgument[], unknown>;
    const failed = (error: unknown) => {
      const failure = this.refusal(error);
      for (const call of batch) call.fail(failure);
    };
    if (durability === undefined) {
      run.runNow(this.client, keys, args).then((reply) => settleBatch(batch, reply), failed);
      return;
    }
    runScriptDurably(run, this.client, keys, args, durability).then(
      (waited) => settleBatch(batch, waited.reply, waited),
      failed,
    );
  }
}

/** Hands each call of a batch its own reply (and durable mode's WAIT answer). */
function settleBatch(
  batch: readonly BatchReplyTarget[],
  reply: unknown,
  waited?: DurableReply<unknown>,
): void {
  // A lone call ran the one-resource script: its reply is a number, not a list.
  const replies = typeof reply === 'number' ? undefined : (reply as number[]);
  for (let index = 0; index < batch.length; index += 1) {
    const call = batch[index] as BatchReplyTarget;
    // A target that throws must not leave the rest of the batch unsettled.
    try {
      call.settle(replies === undefined ? (reply as number) : (replies[index] as number), waited);
    } catch (error) {
      call.fail(error);
    }
  }
}
