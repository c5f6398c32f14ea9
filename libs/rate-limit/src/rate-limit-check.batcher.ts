import {
  TURN_BATCH_WEIGHT,
  TurnQueue,
  type DurableReply,
  type RedisClient,
  type RedisScript,
  type ScriptArgument,
} from '@redkit/redis';

import type { DurableAdmissions } from './rate-limit-durability.js';
import type { RateLimitPolicy } from './rate-limit-options.validator.js';
import { batchScript, checkScript, singleLimitScript, type CheckReply } from './rate-limit-scripts.js';

/** One check waiting for its batch: its keys and limits, in the order of its reply. */
interface PendingCheck {
  keys: readonly string[];
  policies: readonly RateLimitPolicy[];
  consume: boolean;
  resolve(reply: CheckReply): void;
  reject(error: unknown): void;
}

/**
 * Coalesces the checks of one event-loop turn into one EVALSHA of the batch script, which reads
 * `TIME` once and decides each check in arrival order, atomically, with each check's own semantics.
 * An ioredis command costs the client more CPU than a check costs Redis (a Command, a promise, its
 * own reply frame), and each script call costs Redis a `TIME` and the call itself, so one call for
 * N checks amortizes both. A lone check in its turn still runs the one-check scripts.
 *
 * Checks are collected by a {@link TurnQueue} and each batch of several goes to the connection at
 * once ({@link RedisScript.runNow}), so coalescing adds no wait of its own. The checks of one batch share its fate: when the call fails or times out,
 * each of them gets that error (and the service decides it without Redis).
 *
 * Standalone servers only: the keys of one script call must share a Cluster slot and identities are
 * hash tags of their own, so on a Cluster the service runs one call per check (pipelined per node).
 *
 * In durable mode (`durable` given) a batch that charges anything runs with its WAIT (one per turn,
 * see `runScriptDurably`), and each check it admitted fails as a Redis failure would when too few
 * replicas acknowledged the batch; its refusals and peeks stand.
 */
export class RateLimitCheckBatcher {
  private readonly checks = new TurnQueue<PendingCheck>(
    (batch) => this.send(batch),
    // At most TURN_BATCH_WEIGHT keys per batch (a check of several limits counts each).
    TURN_BATCH_WEIGHT,
    (check) => check.keys.length,
  );

  constructor(
    private readonly client: RedisClient,
    private readonly durable?: DurableAdmissions,
  ) {}

  /**
   * Decides one check (its limits together) in the next batch; resolves with the reply of the
   * one-check script: `[allowed, server time µs, then remaining, resetMs, retryAfterMs per limit]`.
   */
  submit(
    keys: readonly string[],
    policies: readonly RateLimitPolicy[],
    consume: boolean,
  ): Promise<CheckReply> {
    return new Promise((resolve, reject) => this.checks.push({ keys, policies, consume, resolve, reject }));
  }

  private send(checks: PendingCheck[]): void {
    if (checks.length === 1) {
      this.runAlone(checks[0] as PendingCheck);
      return;
    }
    let keyCount = 0;
    for (const check of checks) keyCount += check.keys.length;
    const keys: string[] = new Array(keyCount);
    // The distinct limits of the batch go first, four values each; checks then name them by number.
    const numbers = new Map<RateLimitPolicy, number>();
    const limits: ScriptArgument[] = [0];
    const args: ScriptArgument[] = [];
    let at = 0;
    for (const check of checks) {
      const n = check.keys.length;
      args.push(check.consume ? n : -n);
      for (let index = 0; index < n; index += 1) {
        keys[at] = check.keys[index] as string;
        at += 1;
        const policy = check.policies[index] as RateLimitPolicy;
        let number = numbers.get(policy);
        if (number === undefined) {
          number = numbers.size + 1;
          numbers.set(policy, number);
          limits.push(...policy.args);
        }
        args.push(number);
      }
    }
    limits[0] = numbers.size;
    if (this.durable !== undefined && checks.some(charges)) {
      this.durable.batch(keys, limits.concat(args)).then(
        (waited) => split(waited.reply, checks, waited, this.durable),
        (error: unknown) => {
          for (const check of checks) check.reject(error);
        },
      );
      return;
    }
    batchScript.runNow(this.client, keys, limits.concat(args)).then(
      (reply) => split(reply, checks),
      (error: unknown) => {
        for (const check of checks) check.reject(error);
      },
    );
  }

  /**
   * A check alone in its turn goes through ioredis's auto-pipeline (`run`), not straight to the
   * socket: an HTTP server decides each request in its own I/O callback, so under load every turn
   * holds one check, and the pipeline (flushed on `setImmediate`) writes the checks of all the
   * requests read in one poll phase with one socket write instead of one each.
   */
  private runAlone(check: PendingCheck): void {
    const { keys, policies, consume } = check;
    let script: RedisScript<ScriptArgument[], CheckReply>;
    let args: string[];
    if (keys.length === 1) {
      const policy = policies[0] as RateLimitPolicy;
      script = singleLimitScript(policy.args[0] as string);
      args = consume ? policy.consumeArgs : policy.peekArgs;
    } else {
      const all: string[] = [consume ? '1' : '0'];
      for (const policy of policies) all.push(...policy.args);
      script = checkScript;
      args = all;
    }
    if (this.durable !== undefined && consume)
      this.durable.check(script, keys, args).then(check.resolve, check.reject);
    else script.run(this.client, keys, args).then(check.resolve, check.reject);
  }
}

function charges(check: PendingCheck): boolean {
  return check.consume;
}

/**
 * Hands each check its part of the batch reply, shaped like the one-check scripts' reply. In durable
 * mode (`waited`), a check the batch admitted is rejected instead when too few replicas acknowledged it.
 */
function split(
  reply: number[],
  checks: readonly PendingCheck[],
  waited?: DurableReply<unknown>,
  durable?: DurableAdmissions,
): void {
  const now = reply[0] as number;
  let at = 1;
  for (const check of checks) {
    const n = check.keys.length;
    const own: CheckReply = new Array(2 + n * 3);
    own[0] = reply[at] as number;
    own[1] = now;
    for (let index = 0; index < n * 3; index += 1) own[2 + index] = reply[at + 1 + index] as number;
    at += 1 + n * 3;
    if (durable !== undefined && check.consume && own[0] === 1) {
      const failure = durable.settle(waited as DurableReply<unknown>);
      if (failure !== undefined) {
        check.reject(failure);
        continue;
      }
    }
    check.resolve(own);
  }
}
