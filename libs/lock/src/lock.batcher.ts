import type { RedisClient, RedisScript, ScriptArgument } from '@redkit/redis';
import { Command, type Redis } from 'ioredis';

import { releaseBatchScript, releaseScript, takeBatchScript, takeScript } from './lock-scripts.js';

/**
 * Calls per batch at most; a turn with more goes out as several batches. 128 releases are 512 keys
 * and 128 arguments, a reply of 128 integers, well inside Lua's stack and a millisecond of server
 * time.
 */
export const MAX_BATCH = 128;

/** The callers of one batch, in the order of its reply. */
interface Pending {
  resolve: ((reply: number) => void)[];
  reject: ((error: unknown) => void)[];
}

const newPending = (): Pending => ({ resolve: [], reject: [] });

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
 * Batches are flushed on `process.nextTick`, before ioredis sends its auto-pipeline (on
 * `setImmediate`), so coalescing adds no wait of its own. The calls of a batch share its fate: when
 * the call fails or times out (the connection's command timeout), each of them gets that error,
 * exactly as its own call would have.
 *
 * Not used on a Cluster: a script's keys must share a slot, and each resource is a hash tag of its
 * own, so there every call is its own script (ioredis pipelines them per node).
 */
export class LockBatcher {
  private takeKeys: string[] = [];
  private takeArgs: ScriptArgument[] = [];
  private takes = newPending();
  private releaseKeys: string[] = [];
  private releaseArgs: string[] = [];
  private releases = newPending();
  private scheduled = false;

  constructor(private readonly client: RedisClient) {}

  /** The take script's reply for one resource: its fence (> 0) or minus the holder's TTL. */
  take(owner: string, fence: string, token: string, ttlMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.takeKeys.push(owner, fence);
      this.takeArgs.push(token, ttlMs);
      this.takes.resolve.push(resolve);
      this.takes.reject.push(reject);
      if (this.takes.resolve.length >= MAX_BATCH) this.flushTakes();
      else this.schedule();
    });
  }

  /** The release script's reply for one resource (its four keys): 1 when the caller held it. */
  release(keys: readonly string[], token: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.releaseKeys.push(keys[0]!, keys[1]!, keys[2]!, keys[3]!);
      this.releaseArgs.push(token);
      this.releases.resolve.push(resolve);
      this.releases.reject.push(reject);
      if (this.releases.resolve.length >= MAX_BATCH) this.flushReleases();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flushScheduled);
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flushTakes();
    this.flushReleases();
  };

  private flushTakes(): void {
    const callers = this.takes;
    const n = callers.resolve.length;
    if (n === 0) return;
    const keys = this.takeKeys;
    const args = this.takeArgs;
    this.takeKeys = [];
    this.takeArgs = [];
    this.takes = newPending();
    this.send(n === 1 ? takeScript : takeBatchScript, keys, args, callers);
  }

  private flushReleases(): void {
    const callers = this.releases;
    const n = callers.resolve.length;
    if (n === 0) return;
    const keys = this.releaseKeys;
    const args = this.releaseArgs;
    this.releaseKeys = [];
    this.releaseArgs = [];
    this.releases = newPending();
    this.send(n === 1 ? releaseScript : releaseBatchScript, keys, args, callers);
  }

  private send(
    script: RedisScript<never, unknown>,
    keys: string[],
    args: ScriptArgument[],
    callers: Pending,
  ): void {
    const { resolve, reject } = callers;
    this.evalsha(script, keys, args).then(
      (reply) => {
        if (typeof reply === 'number') {
          resolve[0]!(reply);
          return;
        }
        const replies = reply as number[];
        for (let index = 0; index < resolve.length; index += 1) resolve[index]!(replies[index]!);
      },
      (error: unknown) => {
        for (const each of reject) each(error);
      },
    );
  }

  /**
   * One EVALSHA handed to the connection at once (`sendCommand`) rather than through ioredis's
   * auto-pipeline: a batch is already one command per turn. The connection's command timeout still
   * applies; NOSCRIPT (a restarted or flushed server) falls back to EVAL, which also caches the script.
   */
  private async evalsha(
    script: RedisScript<never, unknown>,
    keys: string[],
    args: ScriptArgument[],
  ): Promise<unknown> {
    try {
      const command = new Command('evalsha', [script.sha1, keys.length, ...keys, ...args], {
        replyEncoding: 'utf8',
      });
      return await (this.client as Redis).sendCommand(command);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return (this.client as Redis).eval(script.lua, keys.length, ...keys, ...args);
    }
  }
}
