import { Cluster, Redis, type RedisOptions } from 'ioredis';

import { installCommandDeadlines } from './command-deadlines.js';
import type { CredentialsSource } from './credentials/credentials-source.js';
import { credentialsConnector } from './credentials/credentials.connector.js';
import type { ResolvedRedisOptions } from './redis-options.validator.js';

/** See `disconnectTimeout` in {@link nodeOptions}. */
const DISCONNECT_TIMEOUT_MS = 250;

/** A connection as ioredis gives it: a standalone/Sentinel client or a Cluster client. */
export type RedisClient = Redis | Cluster;

/** Exponential back-off with jitter, so a fleet of instances does not reconnect in lockstep. */
function reconnectDelay(options: ResolvedRedisOptions): (attempt: number) => number {
  const { reconnectMinDelayMs: min, reconnectMaxDelayMs: max } = options;
  return (attempt) => {
    const ceiling = Math.min(max, min * 2 ** Math.min(attempt - 1, 16));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  };
}

function nodeOptions(options: ResolvedRedisOptions, credentials?: CredentialsSource): RedisOptions {
  return {
    // With rotating credentials ioredis gets no password: the connector authenticates each socket.
    ...(credentials
      ? { Connector: credentialsConnector(credentials, options.topology.kind === 'sentinel') }
      : { username: options.username, password: options.password }),
    tls: options.tls,
    connectTimeout: options.connectTimeoutMs,
    // Kept for connections ioredis duplicates (subscribers); the main connection's commands are
    // bounded by installCommandDeadlines, which pre-empts this per-command timer.
    commandTimeout: options.commandTimeoutMs,
    enableOfflineQueue: options.offlineQueue,
    // A command whose caller already saw a timeout or a connection error must not run later.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: options.offlineQueue ? 1 : 0,
    retryStrategy: reconnectDelay(options),
    connectionName: options.clientName,
    // ioredis's ready check sends INFO, an @dangerous command a least-privilege ACL user lacks (it
    // would warn and go on). Ready means connected and authenticated; a server still loading its
    // data answers LOADING, which fails those commands like any other Redis error.
    enableReadyCheck: false,
    lazyConnect: true,
    // How long disconnect() waits for a half-closed socket before destroying it. ioredis arms this
    // timer (ref'd) even when the socket closed long ago, as it has while a client is reconnecting,
    // and then nothing clears it: a connection given up at startup kept the process alive for the
    // default 2 s (and jest workers past their exit deadline). A local close takes well under this.
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
  };
}

/**
 * Creates a client that has not connected yet (`lazyConnect`). With `credentials`, every socket it
 * (or a node, subscriber or duplicate of it) opens asks the source first.
 */
export function createRedisClient(
  options: ResolvedRedisOptions,
  credentials?: CredentialsSource,
): RedisClient {
  const base = nodeOptions(options, credentials);
  const { topology } = options;
  if (topology.kind === 'cluster') {
    const cluster = new Cluster(topology.nodes, {
      ...topology.options,
      redisOptions: { ...base, ...options.redisOptions },
      enableAutoPipelining: options.enableAutoPipelining,
      // ioredis finds no key in XGROUP and XINFO (it follows a subcommand), so an auto-pipelined
      // batch would send them to another slot's node, and a MOVED inside a batch is not followed.
      // Sent on their own, a MOVED is followed.
      autoPipeliningIgnoredCommands: [
        ...(topology.options?.autoPipeliningIgnoredCommands ?? []),
        'xgroup',
        'xinfo',
      ],
      enableOfflineQueue: options.offlineQueue,
      clusterRetryStrategy: reconnectDelay(options),
      lazyConnect: true,
      slotsRefreshTimeout: topology.options?.slotsRefreshTimeout ?? Math.max(1_000, options.commandTimeoutMs),
      // TLS certificates are issued for names; ioredis would otherwise dial the announced IPs.
      dnsLookup: topology.options?.dnsLookup ?? ((address, callback) => callback(null, address)),
    });
    installCommandDeadlines(cluster, options.commandTimeoutMs);
    return cluster;
  }
  if (topology.kind === 'sentinel') {
    return withDeadlines(
      new Redis({
        ...base,
        sentinels: topology.sentinels,
        name: topology.name,
        sentinelPassword: topology.password,
        sentinelUsername: topology.username,
        enableTLSForSentinelMode: options.tls !== undefined,
        sentinelRetryStrategy: reconnectDelay(options),
        enableAutoPipelining: options.enableAutoPipelining,
        ...options.redisOptions,
      }),
      options,
    );
  }
  return withDeadlines(
    new Redis({
      ...base,
      host: topology.host,
      port: topology.port,
      db: topology.db,
      enableAutoPipelining: options.enableAutoPipelining,
      ...options.redisOptions,
    }),
    options,
  );
}

function withDeadlines(client: Redis, options: ResolvedRedisOptions): Redis {
  installCommandDeadlines(client, options.commandTimeoutMs);
  return client;
}
