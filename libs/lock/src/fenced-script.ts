import {
  defineScript,
  runScriptDurably,
  type DurableReply,
  type RedisClient,
  type RedisScript,
  type ResolvedDurability,
  type ScriptArgument,
} from '@redkit/redis';

import { FencedOutError, LockDurabilityError, LockOptionsError } from './lock.errors.js';

/**
 * The check every fenced write runs first, in the same script as the write: KEYS[1] is the target's
 * fence record (the largest token that has written to it, a string key sharing the target's hash
 * tag), ARGV[1] the writer's fencing token. A smaller token than the record is refused before
 * anything is written; an equal one (the same holder writing again) passes; a larger one raises the
 * record, keeping its expiry (the record lives as long as the data it guards; see FencedStore).
 * Lua numbers hold tokens exactly (below 2^53); string.format writes them without rounding.
 */
const FENCE_CHECK_LUA = `local fence_token = tonumber(ARGV[1])
local fence_seen = tonumber(redis.call('GET', KEYS[1]) or '0')
if fence_token < fence_seen then return {'FENCED', string.format('%.0f', fence_seen)} end
if fence_token > fence_seen then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
`;

/** What a fenced script's Lua body receives and returns; see {@link defineFencedScript}. */
export interface FencedScriptDefinition {
  /** Unique, `<module>_<what>`, as for `defineScript`. */
  name: string;
  /**
   * The write, run only when the token passes: a Lua chunk that may `return` a value (which the
   * caller gets). KEYS[1] is the fence record and ARGV[1] the token; the body's own keys and
   * arguments follow them. `fence_token` holds the token as a number.
   */
  lua: string;
  /** All keys, the fence record included; they must share one hash tag. */
  numberOfKeys: number;
}

/** A script whose write runs only for a current lock holder; see {@link defineFencedScript}. */
export class FencedScript<TArgs extends readonly ScriptArgument[], TResult> {
  private readonly script: RedisScript<[number, ...TArgs], ['FENCED', string] | ['OK', TResult?]>;

  constructor(definition: FencedScriptDefinition) {
    this.script = defineScript({
      name: definition.name,
      numberOfKeys: definition.numberOfKeys,
      lua: `-- KEYS[1] fence record, then the write's keys; ARGV[1] fencing token, then the write's arguments
-- returns {'OK', the write's reply} or {'FENCED', the largest token that wrote}
${FENCE_CHECK_LUA}local function write()
${definition.lua}
end
return {'OK', write()}`,
    });
  }

  /**
   * Runs the write if `fencingToken` is at least the largest that has written through `keys[0]`;
   * resolves with the write's reply. Rejects with {@link FencedOutError} (naming `target`, by
   * default the fence record's key) when a newer holder has written, and nothing is written.
   */
  async run(
    client: RedisClient,
    keys: readonly string[],
    fencingToken: number,
    args: TArgs,
    target: string = keys[0] ?? '',
  ): Promise<TResult> {
    const reply = await this.script.run(client, keys, [fencingToken, ...args]);
    if (reply[0] === 'FENCED') throw new FencedOutError(target, fencingToken, Number(reply[1]));
    return reply[1] as TResult;
  }

  /**
   * {@link run} in durable mode: the script, then `WAIT durability.replicas durability.timeoutMs` on
   * the same connection (pass `LockService.durability`, or your own). Resolves once enough replicas
   * acknowledged the write. Rejects with {@link FencedOutError} as `run` does (nothing written), and
   * with {@link LockDurabilityError} when too few replicas acknowledged it in time: the write may
   * still stand on the primary, and a failover may lose it; treat it as unknown, like a timeout.
   */
  async runDurably(
    client: RedisClient,
    keys: readonly string[],
    fencingToken: number,
    args: TArgs,
    durability: ResolvedDurability,
    target: string = keys[0] ?? '',
  ): Promise<TResult> {
    const result = await this.runWaited(client, keys, fencingToken, args, checkDurability(durability));
    if (!result.durable) {
      const { waitError } = result;
      throw new LockDurabilityError(
        target,
        'write',
        result.acknowledged,
        durability.replicas,
        durability.timeoutMs,
        waitError === undefined ? undefined : { cause: waitError },
      );
    }
    return result.reply;
  }

  /**
   * @internal The script and WAIT: the write's reply (FencedOutError when fenced out) and what WAIT
   * answered, for a caller that counts it.
   */
  async runWaited(
    client: RedisClient,
    keys: readonly string[],
    fencingToken: number,
    args: TArgs,
    durability: ResolvedDurability,
    target: string = keys[0] ?? '',
  ): Promise<DurableReply<TResult>> {
    const result = await runScriptDurably(this.script, client, keys, [fencingToken, ...args], durability);
    const { reply } = result;
    if (reply[0] === 'FENCED') throw new FencedOutError(target, fencingToken, Number(reply[1]));
    return { ...result, reply: reply[1] as TResult };
  }
}

function checkDurability(durability: ResolvedDurability): ResolvedDurability {
  const { replicas, timeoutMs } = durability ?? {};
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new LockOptionsError(
      'durability.replicas',
      `must be a whole number from 1, got ${String(replicas)}`,
    );
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new LockOptionsError(
      'durability.timeoutMs',
      `must be a whole number of milliseconds from 1, got ${String(timeoutMs)}`,
    );
  return durability;
}

/**
 * Declares a Lua write guarded by a fencing token: the check and the write are one script, so a lock
 * holder that stalled past its lease (and was replaced by a holder with a larger token that has
 * written since) can never write late. This is the mechanism `FencedStore` runs on; use it directly
 * for writes of your own that touch several keys.
 *
 * @example
 * const settle = defineFencedScript<[amount: string], number>({
 *   name: 'orders_settle',
 *   numberOfKeys: 2, // KEYS[1] the fence record, KEYS[2] the balance
 *   lua: `return redis.call('INCRBYFLOAT', KEYS[2], ARGV[2])`,
 * });
 * await locks.using(`account:${id}`, (signal, lock) =>
 *   settle.run(client, [`{account:${id}}:fence`, `{account:${id}}:balance`], lock.fencingToken, ['10.00']),
 * );
 */
export function defineFencedScript<
  TArgs extends readonly ScriptArgument[] = ScriptArgument[],
  TResult = unknown,
>(definition: FencedScriptDefinition): FencedScript<TArgs, TResult> {
  return new FencedScript<TArgs, TResult>(definition);
}
