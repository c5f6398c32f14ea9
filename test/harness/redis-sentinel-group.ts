import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import { sendRawCommand } from './raw-command.js';
import { requireRedisBinaries } from './redis-binaries.js';
import { RedisServer } from './redis-server.js';

/** How a RedisSentinelGroup is laid out and how quickly its Sentinels fail over. */
export interface RedisSentinelGroupOptions {
  /** The name the Sentinels monitor the primary under. Default `redkit-primary`. */
  name?: string;
  /** Replicas of the primary, at least 1. Default 2. */
  replicas?: number;
  /** Sentinels, at least 1. Default 3. */
  sentinels?: number;
  /** Sentinels that must agree the primary is down. Default a majority of `sentinels`. */
  quorum?: number;
  /** How long the primary must be silent before a Sentinel calls it down. Default 1000. */
  downAfterMs?: number;
  /**
   * Sentinel's `failover-timeout`: the longest a failover step may take, and half the pause Sentinel
   * keeps between two failovers of the same primary. Default 2000.
   */
  failoverTimeoutMs?: number;
}

/** A host and port, as Sentinel reports the primary. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** start() and the helpers give up after this long, so a stuck topology fails a test instead of hanging it. */
const SETTLE_TIMEOUT_MS = 15_000;
const POLL_MS = 50;
/** Each probe of a server or Sentinel gets this long to answer. */
const PROBE_TIMEOUT_MS = 1_000;
/**
 * A Sentinel starts a failover up to a second after it decides to (SENTINEL_MAX_DESYNC), and counts
 * the pause between failovers from then; this much is added to be on the safe side of it.
 */
const FAILOVER_DESYNC_MS = 1_000;

/**
 * A primary with replicas and the Sentinels that watch it, all real processes on free loopback ports:
 * redis-server for the data nodes, `redis-server --sentinel` for the Sentinels (no other package).
 * Settings are tuned for quick failovers (down after 1 s, failover-timeout 2 s, no DNS lookups, no
 * delay before a replica's full sync), so a test can fail over many times within a minute.
 *
 * The group follows the primary as the Sentinels report it: `primary` is the server they last named,
 * `replicas` the others. A killed primary comes back as a replica of the new one with
 * {@link rejoinAsReplica}, so failovers can be repeated. Every process is registered with the
 * harness's exit cleanup (through RedisServer), and stop() ends them all.
 *
 * @example
 * const group = await RedisSentinelGroup.start();
 * const old = await group.killPrimary();
 * const next = await group.waitForPrimaryChange(old);
 * await group.rejoinAsReplica(old);
 * await group.stop();
 */
export class RedisSentinelGroup {
  readonly name: string;
  /** Every data node: the first primary first, then the replicas it started with. */
  readonly servers: readonly RedisServer[];
  readonly sentinels: readonly RedisServer[];
  /** The Sentinels' addresses, as RedisModule's `sentinel.sentinels` takes them. */
  readonly sentinelAddresses: ServerAddress[];
  readonly downAfterMs: number;
  readonly failoverTimeoutMs: number;

  private current: RedisServer;
  /** When a change of primary was last seen; automatic failovers are throttled from there. */
  private lastChangeAt = 0;
  private readonly resumeTimers = new Map<RedisServer, NodeJS.Timeout>();

  private constructor(
    name: string,
    servers: RedisServer[],
    sentinels: RedisServer[],
    timing: { downAfterMs: number; failoverTimeoutMs: number },
  ) {
    this.name = name;
    this.servers = servers;
    this.sentinels = sentinels;
    this.sentinelAddresses = sentinels.map(({ host, port }) => ({ host, port }));
    this.current = servers[0] as RedisServer;
    this.downAfterMs = timing.downAfterMs;
    this.failoverTimeoutMs = timing.failoverTimeoutMs;
  }

  /**
   * Starts the primary, its replicas (resolving once each is in sync) and the Sentinels (resolving
   * once each knows every replica and every other Sentinel). Whatever started is stopped if a step fails.
   */
  static async start(options: RedisSentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
    const {
      name = 'redkit-primary',
      replicas = 2,
      sentinels = 3,
      downAfterMs = 1_000,
      failoverTimeoutMs = 2_000,
    } = options;
    const quorum = options.quorum ?? Math.floor(sentinels / 2) + 1;
    const counts = { replicas, sentinels, quorum };
    for (const [option, value] of Object.entries(counts)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`RedisSentinelGroup options.${option} must be an integer >= 1, got ${value}`);
      }
    }
    if (quorum > sentinels) {
      throw new Error(
        `RedisSentinelGroup options.quorum (${quorum}) exceeds options.sentinels (${sentinels})`,
      );
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new Error(`RedisSentinelGroup options.name must be letters, digits, _ . -, got ${name}`);
    }
    requireRedisBinaries();
    const started: RedisServer[] = [];
    const keep = (server: RedisServer) => {
      started.push(server);
      return server;
    };
    try {
      const primary = keep(await RedisServer.start({ args: dataNodeArgs() }));
      const replicaServers = await Promise.all(
        Array.from({ length: replicas }, async () =>
          keep(await RedisServer.start({ args: dataNodeArgs(primary) })),
        ),
      );
      await waitFor(`${replicas} replicas in sync with ${address(primary)}`, () =>
        replicasOnline(primary, replicaServers),
      );
      const settings = { 'down-after-milliseconds': downAfterMs, 'failover-timeout': failoverTimeoutMs };
      const sentinelServers = await Promise.all(
        Array.from({ length: sentinels }, async () =>
          keep(
            await RedisServer.start({
              sentinel: { name, master: { host: primary.host, port: primary.port }, quorum, settings },
            }),
          ),
        ),
      );
      const group = new RedisSentinelGroup(name, [primary, ...replicaServers], sentinelServers, {
        downAfterMs,
        failoverTimeoutMs,
      });
      await waitFor(`every Sentinel to know ${replicas} replicas and ${sentinels - 1} other Sentinels`, () =>
        group.sentinelsSettled(replicas),
      );
      return group;
    } catch (error) {
      await Promise.allSettled(started.map((server) => server.stop()));
      throw error;
    }
  }

  /** The primary as the Sentinels last named it (see {@link currentPrimary} to ask them again). */
  get primary(): RedisServer {
    return this.current;
  }

  /** Every data node but the primary, running or not. */
  get replicas(): RedisServer[] {
    return this.servers.filter((server) => server !== this.current);
  }

  /**
   * Asks every Sentinel which server is the primary; resolves once a majority of them name the same
   * one, and remembers it as {@link primary}.
   */
  async currentPrimary(): Promise<RedisServer> {
    return waitFor('a majority of Sentinels to name the same primary', async () => {
      const named = await this.namedPrimaries();
      const majority = Math.floor(this.sentinels.length / 2) + 1;
      for (const candidate of named) {
        if (candidate === undefined) continue;
        const votes = named.filter((other) => other !== undefined && sameAddress(other, candidate));
        if (votes.length >= majority) {
          this.current = this.serverAt(candidate);
          return this.current;
        }
      }
      return undefined;
    });
  }

  /**
   * SIGKILLs the primary and resolves with it once it has exited. It first waits until Sentinel allows
   * another automatic failover (twice `failoverTimeoutMs` after the last one), so that what follows the
   * kill is the failover itself, not Sentinel's pause between failovers.
   */
  async killPrimary(): Promise<RedisServer> {
    await this.waitUntilFailoverAllowed();
    const primary = await this.currentPrimary();
    await primary.kill();
    return primary;
  }

  /**
   * Freezes the primary (SIGSTOP) for `ms`, then lets it carry on (SIGCONT); resolves with it as soon
   * as it is frozen. Like {@link killPrimary}, it first waits until Sentinel allows another failover.
   * A primary frozen for longer than `downAfterMs` plus a failover comes back as a stale primary that
   * Sentinel demotes some seconds later (or at once with {@link rejoinAsReplica}).
   */
  async pausePrimary(ms: number): Promise<RedisServer> {
    await this.waitUntilFailoverAllowed();
    const primary = await this.currentPrimary();
    primary.pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(primary);
      if (primary.running) primary.resume();
    }, ms);
    timer.unref();
    this.resumeTimers.set(primary, timer);
    return primary;
  }

  /**
   * Asks a Sentinel to fail over now (`SENTINEL FAILOVER`), with no primary down: the Sentinel promotes
   * a replica and demotes the primary. Resolves with the primary it replaces once a Sentinel accepted;
   * retries while Sentinel answers that a failover is in progress or no replica is fit yet.
   */
  async forceFailover(): Promise<RedisServer> {
    const primary = await this.currentPrimary();
    const sentinel = this.sentinels[0] as RedisServer;
    await waitFor(`SENTINEL FAILOVER ${this.name} to be accepted`, async () => {
      try {
        await ask(sentinel, ['SENTINEL', 'FAILOVER', this.name]);
        return true;
      } catch (error) {
        if (/^(INPROG|NOGOODSLAVE)/.test((error as Error).message)) return undefined;
        throw error;
      }
    });
    return primary;
  }

  /**
   * Resolves with the new primary once the Sentinels have settled on a server other than `old`: every
   * running Sentinel names it, with the same configuration epoch, none of them is failing it over or
   * calls it down, and the server says it is a master. That is what a client asking any Sentinel
   * connects to from then on. Settled matters: with timeouts this short, a Sentinel that started a
   * failover of `old` in a later epoch than the winner's can still promote another replica after the
   * first switch (two failovers for one kill). Rejects after `timeoutMs`.
   */
  async waitForPrimaryChange(old: ServerAddress, timeoutMs = SETTLE_TIMEOUT_MS): Promise<RedisServer> {
    const next = await waitFor(
      `the Sentinels of ${this.name} to settle on a primary other than ${address(old)}`,
      async () => {
        const views = await Promise.all(
          this.sentinels
            .filter((sentinel) => sentinel.running)
            .map((sentinel) =>
              ask(sentinel, ['SENTINEL', 'MASTER', this.name]).then(
                fieldsOf,
                () => new Map<string, string>(),
              ),
            ),
        );
        const [first] = views;
        if (first === undefined) return undefined;
        const named = { host: first.get('ip') ?? '', port: Number(first.get('port')) };
        if (sameAddress(named, old)) return undefined;
        const settled = views.every(
          (view) =>
            view.get('ip') === named.host &&
            view.get('port') === String(named.port) &&
            view.get('flags') === 'master' &&
            view.get('config-epoch') === first.get('config-epoch'),
        );
        if (!settled) return undefined;
        const server = this.serverAt(named);
        return (await roleOf(server)) === 'master' ? server : undefined;
      },
      timeoutMs,
    );
    this.lastChangeAt = Date.now();
    this.current = next;
    return next;
  }

  /**
   * Brings a former primary back as a replica of the current one: a killed server is restarted with
   * `--replicaof` (empty, it takes a full sync), a running one is told `REPLICAOF`. Resolves once it
   * is in sync and every Sentinel counts it as a healthy replica, so it may be promoted in a later
   * failover.
   */
  async rejoinAsReplica(server: RedisServer): Promise<void> {
    const primary = await this.currentPrimary();
    if (server === primary)
      throw new Error(`RedisSentinelGroup.rejoinAsReplica: ${address(server)} is the primary`);
    clearTimeout(this.resumeTimers.get(server));
    this.resumeTimers.delete(server);
    if (server.running) {
      server.resume();
      await sendRawCommand({ ...server, timeoutMs: PROBE_TIMEOUT_MS }, [
        'REPLICAOF',
        primary.host,
        String(primary.port),
      ]);
    } else {
      await server.restart({ args: dataNodeArgs(primary) });
    }
    await waitFor(
      `${address(server)} in sync with ${address(primary)} and known healthy to every Sentinel`,
      async () =>
        (await replicasOnline(primary, [server])) && (await this.sentinelsSeeHealthyReplica(server)),
    );
  }

  /** Resolves once Sentinel would start another automatic failover of this primary. */
  async waitUntilFailoverAllowed(): Promise<void> {
    const wait = this.lastChangeAt + 2 * this.failoverTimeoutMs + FAILOVER_DESYNC_MS - Date.now();
    if (wait > 0) await sleep(wait);
  }

  /** Stops the Sentinels first (so that none reconfigures a server being stopped), then every server. */
  async stop(): Promise<void> {
    for (const timer of this.resumeTimers.values()) clearTimeout(timer);
    this.resumeTimers.clear();
    await Promise.allSettled(this.sentinels.map((sentinel) => sentinel.stop()));
    await Promise.allSettled(this.servers.map((server) => server.stop()));
  }

  /** What each Sentinel names as primary (undefined for a Sentinel that did not answer). */
  private namedPrimaries(): Promise<Array<ServerAddress | undefined>> {
    return Promise.all(
      this.sentinels
        .filter((sentinel) => sentinel.running)
        .map(async (sentinel) => {
          try {
            const reply = await ask(sentinel, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name]);
            if (!Array.isArray(reply) || reply.length !== 2) return undefined;
            return { host: String(reply[0]), port: Number(reply[1]) };
          } catch {
            return undefined;
          }
        }),
    );
  }

  private serverAt(at: ServerAddress): RedisServer {
    const server = this.servers.find((candidate) => sameAddress(candidate, at));
    if (server === undefined)
      throw new Error(`RedisSentinelGroup: Sentinel named ${address(at)}, not one of ours`);
    return server;
  }

  private async sentinelsSettled(replicas: number): Promise<boolean> {
    const others = String(this.sentinels.length - 1);
    const views = await Promise.all(
      this.sentinels.map((sentinel) =>
        ask(sentinel, ['SENTINEL', 'MASTER', this.name]).then(fieldsOf, () => new Map<string, string>()),
      ),
    );
    return views.every(
      (view) => view.get('num-slaves') === String(replicas) && view.get('num-other-sentinels') === others,
    );
  }

  private async sentinelsSeeHealthyReplica(server: RedisServer): Promise<boolean> {
    const views = await Promise.all(
      this.sentinels.map((sentinel) =>
        ask(sentinel, ['SENTINEL', 'REPLICAS', this.name]).then(
          (reply) => (Array.isArray(reply) ? reply.map(fieldsOf) : []),
          () => [],
        ),
      ),
    );
    // Flags alone: the link status comes from INFO, which a Sentinel asks a replica for only every
    // 10 s; that the link is up was checked on the primary itself.
    return views.every((replicas) =>
      replicas.some(
        (fields) => fields.get('port') === String(server.port) && fields.get('flags') === 'slave',
      ),
    );
  }
}

/**
 * Arguments of a data node: full syncs start at once rather than after Redis's default 5 s wait for
 * more replicas, and with `primary`, it starts as its replica.
 */
function dataNodeArgs(primary?: ServerAddress): string[] {
  const args = ['--repl-diskless-sync-delay', '0'];
  if (primary) args.push('--replicaof', primary.host, String(primary.port));
  return args;
}

/** Sends one command on a connection of its own, which is closed afterwards whatever happens. */
async function ask(target: ServerAddress, args: [string, ...string[]]): Promise<unknown> {
  const client = new Redis({
    host: target.host,
    port: target.port,
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    // A paused server never answers the FIN; the socket is destroyed rather than waited for.
    disconnectTimeout: 100,
  });
  client.on('error', () => {}); // failures reach the caller through the command's promise
  try {
    await client.connect();
    const [command, ...rest] = args;
    return await client.call(command, ...rest);
  } finally {
    client.disconnect();
  }
}

/** A flat `[field, value, ...]` reply (SENTINEL MASTER, each of SENTINEL REPLICAS) as a map. */
function fieldsOf(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  if (!Array.isArray(reply)) return fields;
  for (let index = 0; index + 1 < reply.length; index += 2) {
    fields.set(String(reply[index]), String(reply[index + 1]));
  }
  return fields;
}

/** `master` or `slave` as INFO replication says, undefined when the server does not answer. */
async function roleOf(server: ServerAddress): Promise<string | undefined> {
  try {
    const info = await sendRawCommand({ ...server, timeoutMs: PROBE_TIMEOUT_MS }, ['INFO', 'replication']);
    return /^role:(\w+)/m.exec(info ?? '')?.[1];
  } catch {
    return undefined;
  }
}

/** True when `primary` is a master that lists every one of `replicas` as an online replica. */
async function replicasOnline(primary: ServerAddress, replicas: readonly ServerAddress[]): Promise<boolean> {
  let info: string;
  try {
    info = (await sendRawCommand({ ...primary, timeoutMs: PROBE_TIMEOUT_MS }, ['INFO', 'replication'])) ?? '';
  } catch {
    return false;
  }
  if (!/^role:master/m.test(info)) return false;
  return replicas.every((replica) =>
    new RegExp(`^slave\\d+:ip=[^,]+,port=${replica.port},state=online`, 'm').test(info),
  );
}

function sameAddress(a: ServerAddress, b: ServerAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

function address({ host, port }: ServerAddress): string {
  return `${host}:${port}`;
}

/**
 * Calls `probe` until it returns something other than undefined or false, and resolves with that;
 * rejects naming `what` after `timeoutMs`. A probe that throws fails at once.
 */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = SETTLE_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline)
      throw new Error(`RedisSentinelGroup: gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}
