/** The connection used when no name is given. */
export const DEFAULT_REDIS_CONNECTION = 'default';

/** Defaults applied by {@link RedisModule} to every connection; frozen so no caller can change them. */
export const REDIS_DEFAULTS = Object.freeze({
  keyPrefix: 'redkit',
  commandTimeoutMs: 1_000,
  connectTimeoutMs: 5_000,
  enableAutoPipelining: true,
  offlineQueue: false,
  startup: 'wait' as const,
  reconnectMinDelayMs: 50,
  reconnectMaxDelayMs: 2_000,
  maxKeyPartBytes: 512,
});

/** Injection token of the ioredis client of a named connection. */
export function getRedisToken(name: string = DEFAULT_REDIS_CONNECTION): string {
  return `REDKIT:REDIS:CLIENT:${name}`;
}

/** Injection token of the {@link RedisConnection} (client, key prefix, options) of a named connection. */
export function getRedisConnectionToken(name: string = DEFAULT_REDIS_CONNECTION): string {
  return `REDKIT:REDIS:CONNECTION:${name}`;
}
