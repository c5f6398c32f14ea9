import { Cluster, Redis, type RedisOptions } from 'ioredis';

import { installCommandDeadlines } from './command-deadlines.js';
import type { CredentialsSource } from './credentials/credentials-source.js';
import { credentialsConnector } from './credentials/credentials.connector.js';
import type { ResolvedRedisOptions } from './redis-options.validator.js';
import { RedisOptionsError } from './redis.errors.js';

/** See `disconnectTimeout` in {@link nodeOptions}. */
const DISCONNECT_TIMEOUT_MS = 250;
/**
 * How often a Cluster client asks for the slot map when nothing else made it: a master that froze
 * or was cut off (rather than died) fails over without closing our socket, and its commands only
 * time out, which triggers no refresh in ioredis; this bounds how long they keep going there.
 */
const CLUSTER_SLOTS_REFRESH_MS = 5_000;

/**
 * A write sent to a primary that was demoted to a replica (a failover that did not close our
 * connection) fails with READONLY. That command is failed, never resent; the reply says where we
 * are no longer welcome.
 */
function isReadOnlyError(error: Error): boolean {
  return error.message.startsWith('READONLY');
}

/** A connection as ioredis gives it: a standalone/Sentinel client or a Cluster client. */
export type RedisClient = Redis | Cluster;

/** Exponential back-off with jitter, so a fleet of instances does not reconnect in lockstep. */
export function reconnectDelay(options: ResolvedRedisOptions): (attempt: number) => number {
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
 * Which servers a client sends its commands to. `replica`: a Sentinel connection to a replica the
 * Sentinels name (`role: 'slave'`), or a Cluster client whose read-only commands go to replicas
 * (`scaleReads: 'slave'`, a slot without a replica is read from its master). Not for standalone.
 */
export type RedisClientRole = 'primary' | 'replica';

/**
 * Creates a client that has not connected yet (`lazyConnect`). With `credentials`, every socket it
 * (or a node, subscriber or duplicate of it) opens asks the source first.
 */
export function createRedisClient(
  options: ResolvedRedisOptions,
  credentials?: CredentialsSource,
  role: RedisClientRole = 'primary',
): RedisClient {
  const base = nodeOptions(options, credentials);
  const { topology } = options;
  if (role === 'replica' && topology.kind === 'standalone') {
    throw new RedisOptionsError(
      'sentinel',
      'or cluster is needed to read from replicas; a standalone server has none',
    );
  }
  if (topology.kind === 'cluster') {
    // The nodes' options are made before the Cluster they must call back.
    const refresh = { slots: (): void => undefined };
    const cluster = new Cluster(topology.nodes, {
      ...topology.options,
      redisOptions: {
        ...base,
        // A node that turned replica answers MOVED for keyed commands; a READONLY still means our
        // slot map is stale, so it is fetched again (the command itself fails).
        reconnectOnError: (error) => {
          if (isReadOnlyError(error)) refresh.slots();
          return false;
        },
        ...options.redisOptions,
      },
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
      slotsRefreshInterval: topology.options?.slotsRefreshInterval ?? CLUSTER_SLOTS_REFRESH_MS,
      // TLS certificates are issued for names; ioredis would otherwise dial the announced IPs.
      dnsLookup: topology.options?.dnsLookup ?? ((address, callback) => callback(null, address)),
      // Read-only commands (GET, MGET) go to a replica of the slot; every other command to its master.
      ...(role === 'replica' && { scaleReads: 'slave' as const }),
    });
    refresh.slots = () => cluster.refreshSlotsCache();
    installCommandDeadlines(cluster, options.commandTimeoutMs);
    return cluster;
  }
  if (topology.kind === 'sentinel') {
    return withDeadlines(
      new Redis({
        ...base,
        sentinels: topology.sentinels,
        name: topology.name,
        // A replica the Sentinels list as healthy (ioredis picks one at random, or by
        // `redisOptions.preferredSlaves`); with none, it keeps asking, and the caller reads the primary.
        role: role === 'replica' ? 'slave' : 'master',
        sentinelPassword: topology.password,
        sentinelUsername: topology.username,
        enableTLSForSentinelMode: options.tls !== undefined,
        sentinelRetryStrategy: reconnectDelay(options),
        // Asking a Sentinel for the primary is bounded like any command: a frozen Sentinel accepts
        // the connection and never answers, and ioredis would wait for it forever.
        sentinelCommandTimeout: options.commandTimeoutMs,
        // A primary that froze or was cut off does not close our socket when the Sentinels replace
        // it: subscribing to their +switch-master makes the client reconnect to the new one at once.
        // Its connections to the Sentinels reconnect with our back-off, not ioredis's minute.
        failoverDetector: true,
        sentinelReconnectStrategy: reconnectDelay(options),
        // A write to a primary that was demoted (a failover whose CLIENT KILL we missed) fails with
        // READONLY: that command fails, and the client reconnects, asking the Sentinels again.
        reconnectOnError: (error) => isReadOnlyError(error) && 1,
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
