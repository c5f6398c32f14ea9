import type { ChainableCommander, Cluster } from 'ioredis';

import { asPermissionError, scriptModule } from './acl/permission-error.js';
import { clusterKeySlot } from './cluster-key-slot.js';
import type { RedisClient } from './redis-client.js';
import { pendingPreflight, type RedisScript, type ScriptArgument } from './redis-script.js';

/**
 * A module's `durability` option: every write it makes is followed by `WAIT <replicas> <timeoutMs>`
 * on the connection that ran it, and counts as done only once that many replicas acknowledged it.
 */
export interface DurabilityOptions {
  /** Replicas that must acknowledge each write: a whole number from 1. */
  replicas: number;
  /**
   * Longest wait for them, in milliseconds: at most half the connection's `commandTimeoutMs`, so that
   * Redis answers before the client gives up. Default 500, or that half when it is less.
   */
  timeoutMs?: number;
}

/** {@link DurabilityOptions} checked, with the default applied. */
export interface ResolvedDurability {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** Most replicas a write may ask for (WAIT itself takes any number; more than this is a mistake). */
export const MAX_DURABILITY_REPLICAS = 100;

/** The default `timeoutMs`, when half the connection's command timeout allows it. */
export const DEFAULT_DURABILITY_TIMEOUT_MS = 500;

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Checks a module's `durability` option once, at startup, against the connection it will run on.
 * `undefined` (the option not given) is durability off. `fail` makes the module's own options error
 * (its message names `option`, or `option.replicas` / `option.timeoutMs`).
 *
 * @example
 * this.durability = resolveDurability(options.durability, connection.options.commandTimeoutMs,
 *   (option, reason) => new LockOptionsError(option, reason));
 */
export function resolveDurability(
  value: unknown,
  commandTimeoutMs: number,
  fail: (option: string, reason: string) => Error,
  option = 'durability',
): ResolvedDurability | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw fail(option, `must be an object { replicas, timeoutMs }, got ${show(value)}`);
  }
  const { replicas, timeoutMs } = value as DurabilityOptions;
  if (
    typeof replicas !== 'number' ||
    !Number.isInteger(replicas) ||
    replicas < 1 ||
    replicas > MAX_DURABILITY_REPLICAS
  ) {
    throw fail(
      `${option}.replicas`,
      `must be a whole number from 1 to ${MAX_DURABILITY_REPLICAS}, got ${show(replicas)}`,
    );
  }
  // WAIT blocks the connection it runs on: past half the command timeout, the commands queued behind
  // it (and the WAIT itself) would time out in the client before Redis answers.
  const ceiling = Math.floor(commandTimeoutMs / 2);
  const resolved = timeoutMs ?? Math.min(DEFAULT_DURABILITY_TIMEOUT_MS, ceiling);
  if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < 1 || resolved > ceiling) {
    throw fail(
      `${option}.timeoutMs`,
      ceiling < 1
        ? `cannot be met: the connection's commandTimeoutMs (${commandTimeoutMs}) leaves no time to wait for replicas`
        : `must be a whole number of milliseconds from 1 to ${ceiling} (half the connection's commandTimeoutMs, ${commandTimeoutMs}), got ${show(resolved)}`,
    );
  }
  return Object.freeze({ replicas, timeoutMs: resolved });
}

/** What a durable write answered. */
export interface DurableReply<T> {
  /** The write's own reply (the script's return value, the command's reply). */
  readonly reply: T;
  /** Replicas that acknowledged it (WAIT's answer); 0 when the WAIT itself failed. */
  readonly acknowledged: number;
  /** `acknowledged` reached the replicas asked for. */
  readonly durable: boolean;
  /** Why the WAIT failed (timed out in the client, refused for the ACL user, connection lost). */
  readonly waitError?: unknown;
}

/** One write of a group: it adds exactly one command to the group's pipeline. */
abstract class QueuedWrite<T> {
  readonly promise: Promise<DurableReply<T>>;
  protected resolve!: (reply: DurableReply<T>) => void;
  reject!: (error: unknown) => void;

  constructor(readonly durability: ResolvedDurability) {
    this.promise = new Promise<DurableReply<T>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  abstract add(pipeline: ChainableCommander): void;

  /** Settles from the group's replies; false when the write must go again, in the next group. */
  settle(error: unknown, reply: unknown, acknowledged: number, waitError: unknown): boolean {
    if (error) {
      this.reject(error);
      return true;
    }
    this.resolve({
      reply: reply as T,
      acknowledged,
      durable: waitError === undefined && acknowledged >= this.durability.replicas,
      waitError,
    });
    return true;
  }
}

class ScriptWrite<T> extends QueuedWrite<T> {
  /** The server answered NOSCRIPT: the next group sends the source (EVAL), which also caches it. */
  private useEval = false;

  constructor(
    private readonly script: RedisScript<never, T>,
    private readonly keys: readonly string[],
    private readonly args: readonly ScriptArgument[],
    durability: ResolvedDurability,
  ) {
    super(durability);
  }

  add(pipeline: ChainableCommander): void {
    const { keys, args } = this;
    if (this.useEval) pipeline.eval(this.script.lua, keys.length, ...keys, ...args);
    else pipeline.evalsha(this.script.sha1, keys.length, ...keys, ...args);
  }

  override settle(error: unknown, reply: unknown, acknowledged: number, waitError: unknown): boolean {
    if (!this.useEval && error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      this.useEval = true;
      return false;
    }
    const refused = error
      ? (asPermissionError(scriptModule(this.script.name), error, this.script) ?? error)
      : error;
    return super.settle(refused, reply, acknowledged, waitError);
  }
}

class CommandWrite extends QueuedWrite<unknown> {
  constructor(
    private readonly command: string,
    private readonly args: readonly (string | number)[],
    durability: ResolvedDurability,
  ) {
    super(durability);
  }

  add(pipeline: ChainableCommander): void {
    pipeline.call(this.command, ...this.args);
  }
}

/**
 * The durable writes of one connection (a standalone or Sentinel client, or one master of a
 * Cluster), sent as groups: the writes queued while no group is in flight leave together, as one
 * pipeline of their commands and ONE `WAIT`, with the largest `replicas` and `timeoutMs` among them.
 * WAIT covers every write the connection made before it, and it blocks the connection until it
 * answers: one WAIT per group, not one per write, so that a slow or missing replica costs each write
 * at most its own group's wait and the one in flight before it (instead of one timeout after
 * another), and a healthy one costs one acknowledgement round trip per group.
 */
class DurableLane {
  private queue: QueuedWrite<unknown>[] = [];
  private sending = false;
  private scheduled = false;

  constructor(private readonly client: RedisClient) {}

  push(write: QueuedWrite<unknown>): void {
    this.queue.push(write);
    if (this.sending || this.scheduled) return;
    // The writes of this event-loop turn join one group: sent once the turn's callbacks (and the
    // batches other queues send on process.nextTick) have run, as ioredis sends its auto-pipeline.
    this.scheduled = true;
    setImmediate(this.flushScheduled);
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    if (!this.sending) this.flush();
  };

  private flush(): void {
    const group = this.queue;
    if (group.length === 0) return;
    this.queue = [];
    this.sending = true;
    // An explicit pipeline: its commands leave together on the one connection, in order, whatever
    // the client's auto-pipelining; on a Cluster the keyless WAIT goes with the writes' node.
    const pipeline = this.client.pipeline();
    let replicas = 0;
    let timeoutMs = 0;
    for (const write of group) {
      write.add(pipeline);
      replicas = Math.max(replicas, write.durability.replicas);
      timeoutMs = Math.max(timeoutMs, write.durability.timeoutMs);
    }
    pipeline.wait(replicas, timeoutMs);
    pipeline.exec().then(
      (results) => this.finish(group, results ?? [], undefined),
      (error: unknown) => this.finish(group, [], error),
    );
  }

  private finish(group: QueuedWrite<unknown>[], results: [Error | null, unknown][], failure: unknown): void {
    this.sending = false;
    const waited = results[group.length];
    const waitError: unknown = failure ?? waited?.[0] ?? (waited === undefined ? noReply() : undefined);
    const acknowledged = waitError === undefined ? Number(waited?.[1]) : 0;
    const again: QueuedWrite<unknown>[] = [];
    for (let index = 0; index < group.length; index += 1) {
      const write = group[index] as QueuedWrite<unknown>;
      const result = results[index];
      try {
        if (
          !write.settle(
            result === undefined ? (failure ?? noReply()) : result[0],
            result?.[1],
            acknowledged,
            waitError,
          )
        )
          again.push(write);
      } catch (error) {
        write.reject(error);
      }
    }
    if (again.length > 0) this.queue.unshift(...again);
    this.flush();
  }
}

function noReply(): Error {
  return new Error('durable write: the pipeline returned no reply for this command');
}

/** Lanes by client: one for a standalone client, one per master (or, before the slots are known, per slot) of a Cluster. */
const lanesByClient = new WeakMap<RedisClient, Map<string, DurableLane>>();

function laneFor(client: RedisClient, routingKey: string): DurableLane {
  let lanes = lanesByClient.get(client);
  if (lanes === undefined) lanesByClient.set(client, (lanes = new Map()));
  let name = '';
  if (client.isCluster) {
    const slot = clusterKeySlot(routingKey);
    // One pipeline must stay on one node: group by the slot's master while the slots are known.
    name = (client as Cluster).slots[slot]?.[0] ?? `slot:${slot}`;
  }
  let lane = lanes.get(name);
  if (lane === undefined) lanes.set(name, (lane = new DurableLane(client)));
  return lane;
}

/**
 * Runs `script` (EVALSHA, EVAL on NOSCRIPT) and then `WAIT durability.replicas
 * durability.timeoutMs` on the same connection, in one pipeline (WAIT cannot run inside a script):
 * resolves with the script's reply and how many replicas acknowledged it. Writes of one turn share
 * one WAIT (see {@link DurableLane}). Rejects, as `RedisScript.run` does, when the script itself
 * fails (a `RedisPermissionError` for a refusal by the connection's ACL user); a failed WAIT
 * resolves with `durable: false` and its error in `waitError`, since the write ran.
 *
 * WAIT blocks the connection it runs on until the replicas answer or `timeoutMs` passes: every other
 * command on that connection waits behind it. Give durable writes a connection of their own where
 * that matters.
 *
 * @example
 * const { reply, durable } = await runScriptDurably(takeScript, client, keys, [token, ttlMs], { replicas: 1, timeoutMs: 200 });
 */
export function runScriptDurably<TArgs extends readonly ScriptArgument[], TResult>(
  script: RedisScript<TArgs, TResult>,
  client: RedisClient,
  keys: readonly string[],
  args: TArgs,
  durability: ResolvedDurability,
): Promise<DurableReply<TResult>> {
  try {
    // Refused before it is sent, as `run` refuses it (wrong keys, or lacking ACL permissions), once
    // the connection's preflight (if one is in flight) has said which scripts to refuse.
    script.assertRunnable(client, keys);
    const preflight = pendingPreflight(client);
    if (preflight !== undefined) {
      return preflight.then(() => runScriptDurably(script, client, keys, args, durability));
    }
    const write = new ScriptWrite<TResult>(
      script as unknown as RedisScript<never, TResult>,
      keys,
      args,
      durability,
    );
    laneFor(client, keys[0] ?? '').push(write as QueuedWrite<unknown>);
    return write.promise;
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Sends one write command (`command`, then `args`, its first argument a key that routes it on a
 * Cluster) followed by `WAIT`, as {@link runScriptDurably} does for a script. A refusal for the ACL
 * user rejects with Redis's reply; the caller names its module (`RedisConnection.notePermission`).
 *
 * @example
 * const { reply, durable } = await sendCommandDurably(client, 'unlink', keys, durability);
 */
export function sendCommandDurably(
  client: RedisClient,
  command: string,
  args: readonly (string | number)[],
  durability: ResolvedDurability,
): Promise<DurableReply<unknown>> {
  const write = new CommandWrite(command, args, durability);
  laneFor(client, String(args[0] ?? '')).push(write);
  return write.promise;
}
