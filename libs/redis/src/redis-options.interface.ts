import type { ClusterOptions, RedisOptions } from 'ioredis';

import type { RedisCredentialsProvider } from './credentials/redis-credentials.js';

/** A Redis server address. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** TLS settings; `true` means TLS with the system's trusted CAs. PEM strings or Buffers. */
export interface RedisTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  /** Defaults to true; turning it off accepts any certificate and should never reach production. */
  rejectUnauthorized?: boolean;
}

/**
 * Options of one Redis connection. Give exactly one of `url`, `host`/`port`, `cluster` or `sentinel`
 * (none means `redis://127.0.0.1:6379`). All durations are milliseconds and named `...Ms`.
 */
export interface RedisModuleOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://...` for TLS. */
  url?: string;
  host?: string;
  port?: number;
  db?: number;
  /** A Redis Cluster; `nodes` are seed nodes, the rest are discovered. */
  cluster?: { nodes: Array<RedisNodeAddress | string>; options?: Omit<ClusterOptions, 'redisOptions'> };
  /** Redis Sentinel: the sentinels and the name of the monitored master. */
  sentinel?: { sentinels: RedisNodeAddress[]; name: string; password?: string; username?: string };
  /** ACL user name (Redis 6+). */
  username?: string;
  password?: string;
  /**
   * Rotating credentials instead of `username`/`password`: called for every connection and every
   * reconnect of every node (Cluster nodes, Sentinel masters, subscribers), bounded by
   * `connectTimeoutMs`. When it resolves an `expiresAt`, live connections re-AUTH with fresh
   * credentials after three quarters of their life. Cannot be combined with a password.
   */
  credentials?: RedisCredentialsProvider;
  tls?: boolean | RedisTlsOptions;
  /** First part of every key redkit builds: `<keyPrefix>:<module>:<name>`. Default `redkit`. */
  keyPrefix?: string;
  /** Upper bound on every command's wait for a reply. Default 1000. */
  commandTimeoutMs?: number;
  /** Upper bound on establishing the connection, and on the startup wait. Default 5000. */
  connectTimeoutMs?: number;
  /** Batch commands issued in the same tick into one write. Default true. */
  enableAutoPipelining?: boolean;
  /**
   * Queue commands while disconnected instead of failing them at once. Default false: a queued
   * command that timed out would still run after reconnecting, long after its caller gave up.
   */
  offlineQueue?: boolean;
  /**
   * `wait` (default): startup waits until the connection is ready and fails with a
   * `RedisConnectionError` if it is not within `connectTimeoutMs`. `background`: startup goes on
   * and the client keeps reconnecting; authentication and TLS errors are logged.
   */
  startup?: 'wait' | 'background';
  /**
   * The production guard, active when `NODE_ENV` is `production`: a connection in plain text to a
   * host other than loopback, without a password, or as the `default` user is a finding.
   * `warn` (default): one warning per connection naming the fix; `strict`: startup fails with a
   * `RedisOptionsError` instead; `off`: no check.
   */
  security?: 'warn' | 'strict' | 'off';
  /**
   * Samples the server's INFO (and SLOWLOG LEN) every `intervalMs` (default 15000) into
   * `redkit_redis_server_*` gauges: memory, evictions, clients, ops/s, hit ratio, replication lag.
   * INFO is `@dangerous`: give this option to a connection of its own, as a user allowed
   * `+info +slowlog|len` (the modules' least-privilege user is not). Off by default.
   */
  serverMetrics?: boolean | { intervalMs?: number };
  /** Reconnect back-off bounds. Defaults 50 and 2000. */
  reconnectMinDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** Longest user-supplied key part, in bytes, before it is refused or hashed. Default 512. */
  maxKeyPartBytes?: number;
  /** `CLIENT SETNAME` of the connection, handy in `CLIENT LIST`. */
  clientName?: string;
  /** Escape hatch: extra ioredis options, applied last. */
  redisOptions?: Partial<RedisOptions>;
}

/** Options that shape the module itself rather than the connection (Nest "extras"). */
export interface RedisModuleExtras {
  /** Name of the connection, for several connections in one app. Default `default`. */
  name: string;
  /** Register the connection tokens globally. Default true. */
  isGlobal: boolean;
}
