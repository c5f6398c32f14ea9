import { createHash } from 'node:crypto';

import { Command, type Redis } from 'ioredis';

import type { RedisClient } from './redis-client.js';
import { asPermissionError, scriptModule } from './acl/permission-error.js';
import { RedisPermissionError, RedisScriptError } from './redis.errors.js';

/** A value Lua receives in ARGV. */
export type ScriptArgument = string | number | Buffer;

/** What a lib declares once per script. */
export interface RedisScriptDefinition {
  /** Unique, for messages and metrics: `<module>_<what>`, e.g. `lock_release`. */
  name: string;
  /** The Lua source; it opens with a `-- KEYS[1] ... ARGV[1] ... returns ...` header. */
  lua: string;
  /**
   * How many of the arguments are keys; every key must be passed in KEYS for Cluster routing.
   * `'variable'` for a script that takes any number (a batch): each call's keys are counted.
   */
  numberOfKeys: number | 'variable';
  /**
   * Commands the Lua runs that {@link scriptCommands} cannot read from it: those it calls through a
   * built argument list (`redis.call(unpack(args))`). Lowercase, `container|sub` for subcommands.
   */
  calls?: readonly string[];
}

/** Commands that take a subcommand, which ACL rules name as `command|subcommand`. */
const CONTAINER_COMMANDS = new Set([
  'xinfo',
  'xgroup',
  'client',
  'cluster',
  'object',
  'memory',
  'script',
  'pubsub',
  'function',
  'command',
  'config',
  'acl',
]);

/**
 * The commands `lua` runs, as ACL rules name them (`get`, `xinfo|consumers`), read from its
 * `redis.call('...')` and `redis.pcall('...')` calls; plus `calls`. Throws when the Lua calls a
 * command by a name it builds and `calls` does not say which.
 */
export function scriptCommands(name: string, lua: string, calls: readonly string[] = []): string[] {
  const commands = new Set(calls);
  for (const match of lua.matchAll(
    /redis\.p?call\(\s*(?:(['"])([A-Za-z]+)\1(?:\s*,\s*(['"])([A-Za-z-]+)\3)?)?/g,
  )) {
    const command = match[2]?.toLowerCase();
    if (command === undefined) {
      if (calls.length === 0) {
        throw new RedisScriptError(
          `script ${name} calls a command by a name it builds: name what it calls in "calls" (ACL rules need it)`,
        );
      }
      continue;
    }
    const sub = match[4]?.toLowerCase();
    commands.add(CONTAINER_COMMANDS.has(command) && sub !== undefined ? `${command}|${sub}` : command);
  }
  return [...commands].sort();
}

/** A defined script as the ACL manifests see it. */
export interface DefinedScript {
  readonly name: string;
  readonly commands: readonly string[];
}

/** Every script defined in this process, in definition order: what the ACL manifests read. */
const definedScripts: DefinedScript[] = [];

/** The scripts defined so far (each lib defines its own when it is imported). */
export function allDefinedScripts(): readonly DefinedScript[] {
  return definedScripts;
}

/** Bound to one client: runs the script with these keys and arguments. */
export type ScriptFunction<TArgs extends readonly ScriptArgument[], TResult> = (
  keys: readonly string[],
  args: TArgs,
) => Promise<TResult>;

/**
 * Per client, the scripts its ACL user may not run in full, with the commands it lacks, as the
 * connection's preflight found them (see `acl/script-preflight.ts`). Only clients with a refusal
 * have an entry, so the lookup on each run is a miss in the common case.
 */
const refusedScripts = new WeakMap<object, ReadonlyMap<string, readonly string[]>>();

/** Records (or, with an empty map, clears) what the preflight found for `client`. */
export function setRefusedScripts(
  client: RedisClient,
  refused: ReadonlyMap<string, readonly string[]>,
): void {
  if (refused.size === 0) refusedScripts.delete(client);
  else refusedScripts.set(client, refused);
}

/**
 * Per client, the preflight in flight since its last connect: until it answers, which scripts to
 * refuse is unknown, and a script sent meanwhile could run up to a refused command and keep its
 * earlier writes. Scripts wait for it (one connect's worth, bounded by the command timeout).
 */
const pendingPreflights = new WeakMap<object, Promise<void>>();

/** Marks `client`'s preflight in flight (`pending`) or done (undefined, if `done` is the one marked). */
export function setPendingPreflight(
  client: RedisClient,
  pending: Promise<void> | undefined,
  done?: Promise<void>,
): void {
  if (pending !== undefined) pendingPreflights.set(client, pending);
  else if (pendingPreflights.get(client) === done) pendingPreflights.delete(client);
}

/** The preflight `client`'s scripts must wait for, if one is in flight. */
export function pendingPreflight(client: RedisClient): Promise<void> | undefined {
  return pendingPreflights.get(client);
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * A Lua script run by EVALSHA. Its SHA-1 is computed once; when a server answers NOSCRIPT (after a
 * restart, a failover or `SCRIPT FLUSH`), the script is sent once with EVAL, which also caches it
 * on that server, and later calls go back to EVALSHA. Works alike on a standalone server and on a
 * Cluster, where the keys choose the node.
 *
 * @example
 * const release = defineScript<[token: string], number>({ name: 'lock_release', numberOfKeys: 1, lua });
 * await release.run(client, [key], [token]); // 1 when released
 */
export class RedisScript<TArgs extends readonly ScriptArgument[] = ScriptArgument[], TResult = unknown> {
  readonly name: string;
  readonly lua: string;
  readonly numberOfKeys: number | 'variable';
  readonly sha1: string;
  /** What the Lua runs, as ACL rules name the commands; see {@link scriptCommands}. */
  readonly commands: readonly string[];

  constructor(definition: RedisScriptDefinition) {
    const { name, lua, numberOfKeys } = definition;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(name)) {
      throw new RedisScriptError(`script name must be 1-64 of a-z 0-9 _, got ${JSON.stringify(name)}`);
    }
    if (typeof lua !== 'string' || lua.trim().length === 0)
      throw new RedisScriptError(`script ${name} has no Lua`);
    if (numberOfKeys !== 'variable' && (!Number.isInteger(numberOfKeys) || numberOfKeys < 0)) {
      throw new RedisScriptError(
        `script ${name}: numberOfKeys must be an integer from 0, got ${numberOfKeys}`,
      );
    }
    this.name = name;
    this.lua = lua;
    this.numberOfKeys = numberOfKeys;
    this.sha1 = createHash('sha1').update(lua).digest('hex');
    this.commands = scriptCommands(name, lua, definition.calls);
    definedScripts.push(this);
  }

  /**
   * Runs the script on `client` by EVALSHA, recovering from NOSCRIPT with EVAL. A refusal by the
   * connection's ACL user rejects with a `RedisPermissionError` naming the script's module.
   */
  async run(client: RedisClient, keys: readonly string[], args: TArgs): Promise<TResult> {
    this.assertRunnable(client, keys);
    const preflight = pendingPreflights.get(client);
    if (preflight !== undefined) {
      await preflight;
      this.assertRunnable(client, keys);
    }
    try {
      return (await client.evalsha(this.sha1, keys.length, ...keys, ...args)) as TResult;
    } catch (error) {
      if (!isNoScript(error)) throw this.refusal(error);
      return (await client.eval(this.lua, keys.length, ...keys, ...args).catch((again: unknown) => {
        throw this.refusal(again);
      })) as TResult;
    }
  }

  /** `error`, or the `RedisPermissionError` it stands for. */
  private refusal(error: unknown): unknown {
    return asPermissionError(scriptModule(this.name), error, this) ?? error;
  }

  /**
   * Like {@link run}, but the EVALSHA goes to the connection at once (`sendCommand`) instead of
   * through ioredis's auto-pipeline: for a caller that already sends one command per event-loop turn
   * (a coalesced batch), the pipeline's bookkeeping is pure cost, about a microsecond per call. The
   * connection's command deadline still applies. Standalone or Sentinel clients only: on a Cluster
   * the command needs the Cluster's routing, so this is {@link run} there.
   */
  async runNow(client: RedisClient, keys: readonly string[], args: TArgs): Promise<TResult> {
    if (client.isCluster) return this.run(client, keys, args);
    this.assertRunnable(client, keys);
    const preflight = pendingPreflights.get(client);
    if (preflight !== undefined) {
      await preflight;
      this.assertRunnable(client, keys);
    }
    try {
      const command = new Command('evalsha', [this.sha1, keys.length, ...keys, ...args], {
        replyEncoding: 'utf8',
      });
      return (await (client as Redis).sendCommand(command)) as TResult;
    } catch (error) {
      if (!isNoScript(error)) throw this.refusal(error);
      return (await client.eval(this.lua, keys.length, ...keys, ...args).catch((again: unknown) => {
        throw this.refusal(again);
      })) as TResult;
    }
  }

  /**
   * Throws what `run` would reject with before sending anything: a `RedisScriptError` for the wrong
   * number of keys, and a `RedisPermissionError` for a script the client's ACL user may not run in
   * full (Redis would run it up to the refused command and keep the writes made before it, breaking
   * the script's all-or-nothing promise). For callers that send the script themselves (in a
   * pipeline, say).
   */
  assertRunnable(client: RedisClient, keys: readonly string[]): void {
    if (this.numberOfKeys !== 'variable' && keys.length !== this.numberOfKeys) {
      throw new RedisScriptError(`script ${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    const lacking = refusedScripts.get(client)?.get(this.name);
    if (lacking === undefined) return;
    throw new RedisPermissionError(
      scriptModule(this.name),
      `run a command of script ${this.name} (it runs ${lacking.join(', ').toUpperCase()}, which the user lacks)`,
      lacking.map((command) => `+${command}`).join(' '),
    );
  }

  /** The script bound to one client, as a plain async function. */
  bind(client: RedisClient): ScriptFunction<TArgs, TResult> {
    return (keys, args) => this.run(client, keys, args);
  }
}

/** Declares a script once; see {@link RedisScript}. */
export function defineScript<TArgs extends readonly ScriptArgument[] = ScriptArgument[], TResult = unknown>(
  definition: RedisScriptDefinition,
): RedisScript<TArgs, TResult> {
  return new RedisScript<TArgs, TResult>(definition);
}
