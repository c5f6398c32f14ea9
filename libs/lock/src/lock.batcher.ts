import { TurnQueue, type RedisClient, type RedisScript, type ScriptArgument } from '@redkit/redis';

import { releaseBatchScript, releaseScript, takeBatchScript, takeScript } from './lock-scripts.js';

/** One call waiting for its batch: its keys and arguments, and where its reply goes. */
interface PendingCall {
  keys: readonly string[];
  args: readonly ScriptArgument[];
  resolve(reply: number): void;
  reject(error: unknown): void;
}

/**
 * Coalesces the uncontended script calls of one event-loop turn (single-server mode, standalone
 * Redis): the first attempts of acquisitions go to Redis as ONE EVALSHA of the batch take script,
 * the releases as ONE EVALSHA of the batch release script. Each resource in a batch is handled
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
 * Not used on a Cluster: a script's keys must share a slot, and each resource is a hash tag of its
 * own, so there every call is its own script (ioredis pipelines them per node).
 */
export class LockBatcher {
  // At most TURN_BATCH_WEIGHT calls per batch; more in one turn go out as several, overlapping.
  private readonly takes = new TurnQueue<PendingCall>((batch) =>
    this.send(batch.length === 1 ? takeScript : takeBatchScript, batch),
  );
  private readonly releases = new TurnQueue<PendingCall>((batch) =>
    this.send(batch.length === 1 ? releaseScript : releaseBatchScript, batch),
  );

  constructor(private readonly client: RedisClient) {}

  /** The take script's reply for one resource: its fence (> 0) or minus the holder's TTL. */
  take(owner: string, fence: string, token: string, ttlMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) =>
      this.takes.push({ keys: [owner, fence], args: [token, ttlMs], resolve, reject }),
    );
  }

  /** The release script's reply for one resource (its four keys): 1 when the caller held it. */
  release(keys: readonly string[], token: string): Promise<number> {
    return new Promise<number>((resolve, reject) =>
      this.releases.push({ keys, args: [token], resolve, reject }),
    );
  }

  private send(script: RedisScript<never, unknown>, batch: PendingCall[]): void {
    const keys: string[] = [];
    const args: ScriptArgument[] = [];
    for (const call of batch) {
      keys.push(...call.keys);
      args.push(...call.args);
    }
    (script as RedisScript<ScriptArgument[], unknown>).runNow(this.client, keys, args).then(
      (reply) => {
        if (typeof reply === 'number') {
          (batch[0] as PendingCall).resolve(reply);
          return;
        }
        const replies = reply as number[];
        for (let index = 0; index < batch.length; index += 1) {
          (batch[index] as PendingCall).resolve(replies[index] as number);
        }
      },
      (error: unknown) => {
        for (const call of batch) call.reject(error);
      },
    );
  }
}
