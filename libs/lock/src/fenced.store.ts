import type { MetricsService } from '@redkit/metrics';
import {
  REDIS_DEFAULTS,
  resolveDurability,
  type DurabilityOptions,
  type DurableReply,
  type RedisClient,
  type RedisConnection,
  type RedisKeyspace,
  type ResolvedDurability,
  type ScriptArgument,
} from '@redkit/redis';

import { defineFencedScript, type FencedScript } from './fenced-script.js';
import { LockOptionsError } from './lock.errors.js';
import { LockDurability } from './lock-durability.js';

/** How a FencedStore writes; `LockModule` gives it its own `durability`. */
export interface FencedStoreOptions {
  /**
   * Durable mode: every write is followed by WAIT and resolves only once `replicas` replicas
   * acknowledged it; otherwise it rejects with `LockDurabilityError` (the write may still stand on
   * the primary: treat it as unknown). Default off.
   */
  durability?: DurabilityOptions;
}

/** Options of one fenced write. */
export interface FencedWriteOptions {
  /**
   * Expiry of the value (and of its fence record, which lives exactly as long). Without it both
   * persist until `delete`: the record guards the value, so it must not go before it.
   */
  ttlMs?: number;
}

// KEYS[1] fence record, KEYS[2] value. ARGV[1] token, ARGV[2] ttl ms (0: none), ARGV[3...] the data.
const EXPIRE_BOTH = `
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end`;

const fencedSetScript = defineFencedScript<[ttlMs: number, value: string], null>({
  name: 'lock_fenced_set',
  numberOfKeys: 2,
  lua: `redis.call('SET', KEYS[2], ARGV[3])${EXPIRE_BOTH}
return nil`,
});

const fencedHsetScript = defineFencedScript<(string | number)[], null>({
  name: 'lock_fenced_hset',
  numberOfKeys: 2,
  lua: `if redis.call('TYPE', KEYS[2]).ok ~= 'hash' then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[2], unpack(ARGV, 3))${EXPIRE_BOTH}
return nil`,
});

const fencedDeleteScript = defineFencedScript<[], number>({
  name: 'lock_fenced_delete',
  numberOfKeys: 2,
  lua: `local deleted = redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[1])
return deleted`,
});

/**
 * Values in Redis that only the current holder of a lock can write: every write carries the
 * holder's fencing token and runs in one script with the check that no larger token has written to
 * the same key, so a holder that stalled past its lease (and was replaced) is refused with
 * `FencedOutError` instead of overwriting newer data. Reads are plain.
 *
 * Keys: `<keyPrefix>:fenced:{<key>}:value` (a string or a hash) and `:fence`, the largest token that
 * has written it; they share a hash tag, expire together (`ttlMs`) and are deleted together.
 *
 * @example
 * await locks.using(`cart:${id}`, async (signal, lock) => {
 *   const cart = JSON.parse((await fenced.get(`cart:${id}`)) ?? '[]');
 *   cart.push(item);
 *   await fenced.set(`cart:${id}`, JSON.stringify(cart), lock.fencingToken, { ttlMs: 86_400_000 });
 * });
 */
export class FencedStore {
  private readonly client: RedisClient;
  private readonly keyspace: RedisKeyspace;
  /** Durable mode's WAIT, or undefined when it is off. */
  readonly durability: ResolvedDurability | undefined;
  private readonly durable?: LockDurability;

  /** @throws LockOptionsError naming a bad `durability` option. */
  constructor(
    private readonly connection: RedisConnection,
    options: FencedStoreOptions = {},
    metrics?: MetricsService,
  ) {
    this.durability = resolveDurability(
      options.durability,
      connection.options?.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
      (option, reason) => new LockOptionsError(option, reason),
    );
    this.client = connection.client;
    this.keyspace = connection.keyspace('fenced');
    if (this.durability !== undefined)
      this.durable = new LockDurability(this.durability, metrics, (error) => this.noteRefusal(error));
  }

  /** Sets a string value if `fencingToken` is current; rejects with FencedOutError otherwise. */
  async set(
    key: string,
    value: string,
    fencingToken: number,
    options: FencedWriteOptions = {},
  ): Promise<void> {
    await this.write(fencedSetScript, key, checkToken(fencingToken), [ttlOf(options), value]);
  }

  /** The string value, or null. */
  get(key: string): Promise<string | null> {
    return this.client.get(this.keysOf(key)[1]!).catch(this.refused);
  }

  /**
   * Sets fields of a hash value if `fencingToken` is current (other fields stay; a string value there
   * is replaced); rejects with FencedOutError otherwise.
   */
  async hset(
    key: string,
    fields: Readonly<Record<string, string | number>>,
    fencingToken: number,
    options: FencedWriteOptions = {},
  ): Promise<void> {
    const pairs = Object.entries(fields).flat();
    if (pairs.length === 0) throw new LockOptionsError('fields', 'must name at least one field');
    await this.write(fencedHsetScript, key, checkToken(fencingToken), [ttlOf(options), ...pairs]);
  }

  /** Every field of a hash value ({} when there is none). */
  hgetall(key: string): Promise<Record<string, string>> {
    return this.client.hgetall(this.keysOf(key)[1]!).catch(this.refused);
  }

  /**
   * Deletes the value and its fence record if `fencingToken` is current; resolves with whether a
   * value was there. The next write starts a new record (any token may write it).
   */
  async delete(key: string, fencingToken: number): Promise<boolean> {
    return (await this.write(fencedDeleteScript, key, checkToken(fencingToken), [])) === 1;
  }

  /** The largest token that has written `key` (0 when none has, or the value was deleted). */
  async highestToken(key: string): Promise<number> {
    return Number((await this.client.get(this.keysOf(key)[0]!).catch(this.refused)) ?? 0);
  }

  /** One fenced write; in durable mode followed by WAIT, rejecting when too few replicas acknowledged it. */
  private async write<TArgs extends readonly ScriptArgument[], TResult>(
    script: FencedScript<TArgs, TResult>,
    key: string,
    fencingToken: number,
    args: TArgs,
  ): Promise<TResult> {
    const { durable } = this;
    if (durable === undefined)
      return script.run(this.client, this.keysOf(key), fencingToken, args, key).catch(this.refused);
    const result: DurableReply<TResult> = await script
      .runWaited(this.client, this.keysOf(key), fencingToken, args, durable.settings, key)
      .catch(this.refused);
    if (!durable.acknowledged('write', result)) throw durable.unreplicated(key, 'write', result);
    return result.reply;
  }

  /**
   * Rethrows `error`; a refusal for the ACL user as the RedisPermissionError it stands for, logged once
   * and reported by the connection's health. A FencedOutError passes as it is.
   */
  private readonly refused = (error: unknown): never => {
    throw this.noteRefusal(error);
  };

  private noteRefusal(error: unknown): unknown {
    return this.connection.notePermission('lock', error) ?? error;
  }

  /** [fence record, value], sharing `key` as their hash tag. */
  private keysOf(key: string): [string, string] {
    const base = this.keyspace.tagged(key);
    return [`${base}:fence`, `${base}:value`];
  }
}

function checkToken(fencingToken: number): number {
  if (!Number.isSafeInteger(fencingToken) || fencingToken <= 0) {
    throw new LockOptionsError(
      'fencingToken',
      `must be a positive safe integer (a lock's fencingToken), got ${fencingToken}`,
    );
  }
  return fencingToken;
}

function ttlOf({ ttlMs }: FencedWriteOptions): number {
  if (ttlMs === undefined) return 0;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new LockOptionsError('ttlMs', `must be a positive whole number of milliseconds, got ${ttlMs}`);
  }
  return ttlMs;
}
