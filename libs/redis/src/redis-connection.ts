import type { OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';

import { CredentialRenewer, type RenewalOutcome } from './credentials/credential-renewer.js';
import { CredentialsSource } from './credentials/credentials-source.js';
import { createRedisClient, reconnectDelay, type RedisClient } from './redis-client.js';
import { reviveOnEnd } from './end-reviver.js';
import { describeConnectionFailure } from './redis-connection-errors.js';
import { RedisConnectionMonitor, type RedisConnectionState } from './redis-connection.monitor.js';
import { RedisFailoverDetector, type RedisFailoverEvent } from './redis-failover.detector.js';
import { asPermissionError } from './acl/permission-error.js';
import { preflightScripts } from './acl/script-preflight.js';
import { RedisConnectionError, RedisPermissionError } from './redis.errors.js';
import { RedkitLogger } from './tracing/redkit-logger.js';

/** How long a permission refusal keeps the connection's health `down` after it was last seen. */
export const REFUSAL_REPORT_MS = 60_000;
import { guardProduction } from './production-guard.js';
import { RedisKeyspace } from './redis-keyspace.js';
import { resolveRedisOptions, type ResolvedRedisOptions } from './redis-options.validator.js';
import type { RedisModuleOptions } from './redis-options.interface.js';

/** How long a graceful QUIT may take at shutdown before the socket is simply closed. */
const QUIT_TIMEOUT_MS = 1_000;

function withDeadline(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}

/** QUIT, bounded, then a hard disconnect; resolves once the client has ended (or the bound passed). */
async function closeClient(client: RedisClient, monitor: RedisConnectionMonitor): Promise<void> {
  monitor.markClosing();
  if (client.status === 'end') return monitor.detach();
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status === 'ready')
    await withDeadline(
      client.quit().catch(() => undefined),
      QUIT_TIMEOUT_MS,
    );
  client.disconnect();
  await withDeadline(ended, QUIT_TIMEOUT_MS);
  monitor.detach();
}

/**
 * One named connection: its ioredis client, its validated options and its key prefix. Injected
 * with `@InjectRedisConnection(name?)`; the bare client with `@InjectRedis(name?)`.
 */
export class RedisConnection implements OnApplicationShutdown {
  private readonly monitor: RedisConnectionMonitor;
  private readonly failovers: RedisFailoverDetector;
  private closing?: Promise<void>;
  /** Closed, or given up at startup: a client that ends stays ended (see {@link reviveOnEnd}). */
  private abandoned = false;
  private readonly reviverDetachers: Array<() => void> = [];
  /** Permission refusals by `<module> <rule>`, with when each was last seen. */
  private readonly refusals = new Map<string, { error: RedisPermissionError; at: number }>();
  private readonly renewer?: CredentialRenewer;
  private readonly renewalListeners = new Set<(outcome: RenewalOutcome) => void>();
  private preflight: Promise<unknown> = Promise.resolve();
  /** The replica-reading client, once {@link replicaClient} made it. */
  private replica?: { client: RedisClient; monitor: RedisConnectionMonitor; renewer?: CredentialRenewer };
  private readonly replicaStateListeners = new Set<(state: Readonly<RedisConnectionState>) => void>();

  private constructor(
    readonly name: string,
    readonly client: RedisClient,
    readonly options: ResolvedRedisOptions,
    private readonly credentials?: CredentialsSource,
  ) {
    this.monitor = new RedisConnectionMonitor(client, name, options.target);
    this.failovers = new RedisFailoverDetector(client, name, options.topology.kind);
    this.revive(client);
    // On every connect (the ACL user may have changed): which scripts it may not run in full.
    client.on('ready', () => {
      this.preflight = preflightScripts(client, options.keyPrefix);
    });
    if (credentials)
      this.renewer = new CredentialRenewer(
        client,
        credentials,
        new RedkitLogger(`Redis:${name}`),
        (outcome) => {
          for (const listener of this.renewalListeners) listener(outcome);
        },
      );
  }

  /**
   * Validates the options, creates the client and, with `startup: 'wait'` (the default), waits until
   * it is ready. Throws `RedisOptionsError` for a bad option, `RedisConnectionError` when the
   * server cannot be reached in `connectTimeoutMs` or refuses the credentials or the certificate.
   */
  static async open(name: string, input: RedisModuleOptions): Promise<RedisConnection> {
    const options = resolveRedisOptions(input);
    guardProduction(name, options, (message) => new RedkitLogger(`Redis:${name}`).warn(message));
    const credentials =
      options.credentials && new CredentialsSource(options.credentials, options.connectTimeoutMs);
    const connection = new RedisConnection(
      name,
      createRedisClient(options, credentials),
      options,
      credentials,
    );
    if (options.startup === 'background') {
      connection.client.connect().catch(() => undefined);
      return connection;
    }
    await connection.waitUntilReady();
    return connection;
  }

  /** `cluster` when the client is a Redis Cluster client. */
  get isCluster(): boolean {
    return this.options.topology.kind === 'cluster';
  }

  /**
   * Records that Redis refused one of `module`'s commands for the connection's ACL user, when
   * `error` is such a refusal (NOPERM, or a script running a command the user lacks): logged once
   * per module and rule, reported by `RedisHealthIndicator` for {@link REFUSAL_REPORT_MS}. Returns
   * the typed error, or undefined for any other error. Modules call it where they catch Redis errors.
   */
  notePermission(module: string, error: unknown): RedisPermissionError | undefined {
    const refused = error instanceof RedisPermissionError ? error : asPermissionError(module, error);
    if (refused === undefined) return undefined;
    const key = `${refused.module} ${refused.rule}`;
    if (!this.refusals.has(key)) new RedkitLogger(`Redis:${this.name}`).error(refused.message);
    this.refusals.set(key, { error: refused, at: Date.now() });
    return refused;
  }

  /** The refusals {@link notePermission} recorded in the last {@link REFUSAL_REPORT_MS}. */
  recentRefusals(now = Date.now()): RedisPermissionError[] {
    const recent: RedisPermissionError[] = [];
    for (const [key, { error, at }] of this.refusals) {
      if (now - at <= REFUSAL_REPORT_MS) recent.push(error);
      else this.refusals.delete(key);
    }
    return recent;
  }

  /** Calls `listener` after each re-authentication of live connections with rotated credentials. */
  onCredentialRenewal(listener: (outcome: RenewalOutcome) => void): void {
    this.renewalListeners.add(listener);
  }

  /** Connection state as the monitor saw it last, for health checks. */
  get state(): Readonly<RedisConnectionState> {
    return this.monitor.state;
  }

  /** Calls `listener` whenever the connection becomes ready, goes down or is closed. */
  onStateChange(listener: (state: Readonly<RedisConnectionState>) => void): void {
    this.monitor.onChange(listener);
  }

  /**
   * Calls `listener` after each failover the connection went through: a Sentinel connection that
   * reconnected to another primary, a Cluster master whose replica took its slots. Each is also
   * logged once and counted in `redkit_redis_failovers_total`.
   */
  onFailover(listener: (event: RedisFailoverEvent) => void): void {
    this.failovers.onFailover(listener);
  }

  /**
   * A second client of this connection that reads from replicas, made on the first call and closed
   * with the connection: on Sentinel a connection to a replica the Sentinels name healthy, on a
   * Cluster a client sending read-only commands to each slot's replica. It connects in the
   * background; until it is ready (or when no replica is healthy) its commands fail at once, so a
   * caller checks `status === 'ready'` and reads the primary otherwise. Commands are bounded by
   * `commandTimeoutMs`; its state is logged and exported as connection `<name>:replica`.
   * For reads that may be a replica's lag old only: never for writes, scripts, locks or limits.
   * Throws `RedisOptionsError` on a standalone connection (no replica to read).
   */
  replicaClient(): RedisClient {
    if (this.replica !== undefined) return this.replica.client;
    if (this.closing !== undefined) throw new RedisConnectionError(this.name, this.options.target, 'closed');
    const client = createRedisClient(this.options, this.credentials, 'replica');
    const monitor = new RedisConnectionMonitor(client, `${this.name}:replica`, this.options.target);
    for (const listener of this.replicaStateListeners) monitor.onChange(listener);
    const renewer =
      this.credentials &&
      // Its renewals reach the same listeners (and metric) as the main client's: a replica client
      // whose credentials could not be renewed is as much this connection's trouble.
      new CredentialRenewer(client, this.credentials, new RedkitLogger(`Redis:${this.name}`), (outcome) => {
        for (const listener of this.renewalListeners) listener(outcome);
      });
    this.replica = { client, monitor, renewer };
    this.revive(client);
    client.connect().catch(() => undefined);
    return client;
  }

  /** Calls `listener` whenever the {@link replicaClient} becomes ready, goes down or is closed. */
  onReplicaStateChange(listener: (state: Readonly<RedisConnectionState>) => void): void {
    this.replicaStateListeners.add(listener);
    this.replica?.monitor.onChange(listener);
  }

  /** A key builder for one module: `<keyPrefix>:<module>:...`. */
  keyspace(module: string): RedisKeyspace {
    return new RedisKeyspace(this.options.keyPrefix, module, { maxPartBytes: this.options.maxKeyPartBytes });
  }

  /** Closes the connection: QUIT, bounded, then a hard disconnect; resolves once it has ended. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abandon();
      this.renewer?.stop();
      this.failovers.detach();
      const { replica } = this;
      replica?.renewer?.stop();
      await Promise.all([
        closeClient(this.client, this.monitor),
        replica && closeClient(replica.client, replica.monitor),
      ]);
    })();
    return this.closing;
  }

  /** A standalone or Sentinel client that ioredis ends without being asked is connected again. */
  private revive(client: RedisClient): void {
    if (client.isCluster) return;
    this.reviverDetachers.push(
      reviveOnEnd(client as Redis, () => this.abandoned, reconnectDelay(this.options)),
    );
  }

  private abandon(): void {
    this.abandoned = true;
    for (const detach of this.reviverDetachers.splice(0)) detach();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private waitUntilReady(): Promise<void> {
    const { client, name, options } = this;
    return new Promise<void>((resolve, reject) => {
      let lastError: unknown;
      const finish = (error?: RedisConnectionError): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        client.off('node error', onError);
        if (!error) return resolve();
        this.abandon();
        client.disconnect();
        this.renewer?.stop();
        this.monitor.detach();
        this.failovers.detach();
        reject(error);
      };
      // Ready is ioredis's word once connected (and authenticated); redkit runs no INFO ready check
      // (a least-privilege user lacks it), so a PING answered proves the server speaks to us, not,
      // say, a TLS port that took a plain connection. Until one is, the overall timer runs on.
      const onReady = (): void => {
        client.ping().then(
          // The script preflight is part of ready: no script runs before it is known which to refuse.
          () => this.preflight.then(() => finish()),
          (error: unknown) => {
            lastError = error;
          },
        );
      };
      const onError = (error: unknown): void => {
        lastError = error;
        const failure = describeConnectionFailure(error);
        if (failure.fatal)
          finish(new RedisConnectionError(name, options.target, failure.reason, { cause: error }));
      };
      const timer = setTimeout(() => {
        const last =
          lastError === undefined ? '' : `; last error: ${describeConnectionFailure(lastError).reason}`;
        const reason = `not ready within connectTimeoutMs (${options.connectTimeoutMs} ms)${last}`;
        finish(new RedisConnectionError(name, options.target, reason, { cause: lastError }));
      }, options.connectTimeoutMs);
      client.on('ready', onReady);
      client.on('error', onError);
      client.on('node error', onError);
      client.connect().catch(() => undefined);
    });
  }
}
