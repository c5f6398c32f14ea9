import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendRawCommand } from './raw-command.js';
import { requireRedisBinaries } from './redis-binaries.js';
import { RedisServer } from './redis-server.js';

const execFileAsync = promisify(execFile);

const HASH_SLOTS = 16_384;
/** redis-cli --cluster create sleeps a second per check while nodes join, so it gets a generous limit. */
const CREATE_TIMEOUT_MS = 20_000;
/** A master refuses to turn cluster_state:ok until 2 s after it started; a few more for gossip. */
const HEALTHY_TIMEOUT_MS = 10_000;
/** waitForMasterChange() gives up after this long unless told otherwise. */
const FAILOVER_TIMEOUT_MS = 15_000;
const PROBE_TIMEOUT_MS = 1_000;

/** How a RedisClusterServers is laid out. */
export interface RedisClusterOptions {
  /** Masters, at least 3 (redis-cli needs 3). Default 3. */
  masters?: number;
  /** Replicas of each master. Default 0. */
  replicas?: number;
  /**
   * `cluster-node-timeout`: how long a silent node takes to be voted failed, and so the heart of a
   * failover's duration. Default 1000 with replicas, Redis's 15000 without (a restarted master then
   * rejoins before anyone calls it failed).
   */
  nodeTimeoutMs?: number;
}

/** One line of CLUSTER NODES. */
interface ClusterNode {
  id: string;
  port: number;
  flags: string[];
  /** The id of the master it replicates, for a replica. */
  masterId: string | undefined;
  slots: Array<[number, number]>;
}

/**
 * A Redis Cluster of real redis-server processes: `masters` masters (3 by default), `replicas`
 * replicas of each (none by default), the 16384 slots split between the masters by `redis-cli
 * --cluster create`.
 *
 * start() resolves only once every node reports cluster_state:ok and knows where every slot lives
 * (and every replica is in sync), so a cluster client connecting right after sees a settled cluster.
 * With replicas, the failover helpers ({@link killMaster}, {@link pauseMaster}, {@link forceFailover},
 * {@link waitForMasterChange}) drive the cluster's own failover; indexes are into `servers`, which
 * stay put while the nodes' roles change.
 *
 * @example
 * const cluster = await RedisClusterServers.start();
 * const client = new Cluster(cluster.nodes);
 * // ...
 * await client.quit();
 * await cluster.stop();
 */
export class RedisClusterServers {
  /**
   * One RedisServer per node, in the order they were given to redis-cli: the first `masters` started
   * as masters, the rest as their replicas.
   */
  readonly servers: RedisServer[];
  /** Seed nodes for a cluster client. */
  readonly nodes: Array<{ host: string; port: number }>;
  readonly masterCount: number;
  readonly replicasPerMaster: number;

  /** Slot ranges a master served when it was killed, paused or failed over, for waitForMasterChange. */
  private readonly servedBefore = new Map<number, Array<[number, number]>>();
  private readonly paused = new Map<RedisServer, NodeJS.Timeout>();

  private constructor(servers: RedisServer[], masters: number, replicas: number) {
    this.servers = servers;
    this.nodes = servers.map(({ host, port }) => ({ host, port }));
    this.masterCount = masters;
    this.replicasPerMaster = replicas;
  }

  /** Starts the nodes, creates the cluster and waits until it is healthy on every node. */
  static async start(options: RedisClusterOptions = {}): Promise<RedisClusterServers> {
    const masters = options.masters ?? 3;
    if (!Number.isInteger(masters) || masters < 3) {
      throw new Error(
        `RedisClusterServers options.masters must be an integer >= 3 (redis-cli needs 3), got ${masters}`,
      );
    }
    const replicas = options.replicas ?? 0;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new Error(`RedisClusterServers options.replicas must be an integer >= 0, got ${replicas}`);
    }
    const nodeTimeoutMs = options.nodeTimeoutMs ?? (replicas > 0 ? 1_000 : undefined);
    // Replicas stay eligible however long their link was down (validity factor 0), replicas do not
    // wander to other masters, and a full sync starts at once: failovers can follow each other.
    const args = [
      ...(nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(nodeTimeoutMs)]),
      ...(replicas > 0
        ? [
            ...['--cluster-replica-validity-factor', '0'],
            ...['--cluster-allow-replica-migration', 'no'],
            ...['--repl-diskless-sync-delay', '0'],
          ]
        : []),
    ];
    requireRedisBinaries();
    const started = await Promise.allSettled(
      Array.from({ length: masters * (1 + replicas) }, () => RedisServer.start({ cluster: true, args })),
    );
    const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const cluster = new RedisClusterServers(servers, masters, replicas);
    const failure = started.find((result) => result.status === 'rejected');
    if (failure) {
      await cluster.stop();
      throw failure.reason;
    }
    try {
      await cluster.create();
      await cluster.waitUntilHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /**
   * Kills node `index` and starts it again on the same port (it rejoins as itself with an empty
   * dataset: with its slots, or, once a replica took them over, as that replica's replica); resolves
   * once the cluster is healthy on every node again.
   */
  async restartNode(index: number): Promise<void> {
    const server = this.servers[index];
    if (server === undefined) throw new Error(`RedisClusterServers.restartNode: no node ${index}`);
    this.unpause(server);
    await server.restart();
    await this.waitUntilHealthy();
  }

  /** The indexes of the nodes that are masters serving slots now, as a live node sees the cluster. */
  async masterIndexes(): Promise<number[]> {
    const nodes = await this.clusterNodes();
    return nodes
      .filter((node) => node.flags.includes('master') && node.slots.length > 0)
      .map((node) => this.indexOfPort(node.port))
      .sort((a, b) => a - b);
  }

  /** The index of a replica of master `masterIndex`, as a live node sees the cluster. */
  async replicaOf(masterIndex: number): Promise<number> {
    const nodes = await this.clusterNodes();
    const master = nodes.find((node) => node.port === this.nodes[masterIndex]?.port);
    const replica = nodes.find(
      (node) => master !== undefined && node.masterId === master.id && !isFailing(node),
    );
    if (replica === undefined)
      throw new Error(`RedisClusterServers.replicaOf: master ${masterIndex} has no replica`);
    return this.indexOfPort(replica.port);
  }

  /**
   * SIGKILLs master `index`, as a crash would: after `nodeTimeoutMs` the others vote it failed and its
   * replica takes its slots ({@link waitForMasterChange}). Bring it back with {@link restartNode}.
   */
  async killMaster(index: number): Promise<void> {
    const server = await this.masterServer(index, 'killMaster');
    this.unpause(server);
    await server.kill();
  }

  /**
   * Freezes master `index` (SIGSTOP) for `ms`, then lets it carry on. Frozen longer than
   * `nodeTimeoutMs` plus a failover, it comes back to find its slots taken and turns into a replica.
   */
  async pauseMaster(index: number, ms: number): Promise<void> {
    const server = await this.masterServer(index, 'pauseMaster');
    server.pause();
    const timer = setTimeout(() => this.unpause(server), ms);
    timer.unref();
    this.paused.set(server, timer);
  }

  /**
   * A manual failover (`CLUSTER FAILOVER` on replica `replicaIndex`): the replica catches up with its
   * master, takes its slots and the master becomes its replica, with nothing lost. Resolves with the
   * index of the former master once the replica says it is a master and the cluster is healthy
   * again (the former master in sync as its replica, so the next failover has a replica to promote).
   */
  async forceFailover(replicaIndex: number): Promise<number> {
    const replica = this.nodes[replicaIndex];
    if (replica === undefined) throw new Error(`RedisClusterServers.forceFailover: no node ${replicaIndex}`);
    const nodes = await this.clusterNodes();
    const self = nodes.find((node) => node.port === replica.port);
    const master = nodes.find((node) => node.id === self?.masterId);
    if (master === undefined) {
      throw new Error(`RedisClusterServers.forceFailover: node ${replicaIndex} is not a replica`);
    }
    const masterIndex = this.indexOfPort(master.port);
    this.servedBefore.set(masterIndex, master.slots);
    await sendRawCommand({ ...replica, timeoutMs: PROBE_TIMEOUT_MS }, ['CLUSTER', 'FAILOVER']);
    const deadline = Date.now() + FAILOVER_TIMEOUT_MS;
    while ((await roleOf(replica)) !== 'master') {
      if (Date.now() > deadline) {
        throw new Error(
          `RedisClusterServers.forceFailover: node ${replicaIndex} not a master after ${FAILOVER_TIMEOUT_MS} ms`,
        );
      }
      await sleep(50);
    }
    await this.waitUntilHealthy();
    return masterIndex;
  }

  /**
   * Resolves with the index of the node now serving what master `oldIndex` served (when it was killed,
   * paused or failed over), once every running node agrees that this other node is a master owning
   * those slots and reports cluster_state:ok: what a client's next slots refresh will see.
   */
  async waitForMasterChange(oldIndex: number, timeoutMs = FAILOVER_TIMEOUT_MS): Promise<number> {
    const old = this.nodes[oldIndex];
    if (old === undefined) throw new Error(`RedisClusterServers.waitForMasterChange: no node ${oldIndex}`);
    const [range] = this.servedBefore.get(oldIndex) ?? [];
    if (range === undefined) {
      throw new Error(
        `RedisClusterServers.waitForMasterChange: master ${oldIndex} was not killed, paused or failed over here`,
      );
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const owner = await this.agreedOwner(range[0], old.port);
      if (owner !== undefined) {
        this.servedBefore.delete(oldIndex);
        return owner;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `RedisClusterServers.waitForMasterChange: slot ${range[0]} still not served by a new master after ${timeoutMs} ms`,
        );
      }
      await sleep(50);
    }
  }

  /** The index of the master that serves `slot`, as a live node sees the cluster. */
  async ownerOf(slot: number): Promise<number> {
    const owner = (await this.clusterNodes()).find((node) =>
      node.slots.some(([from, to]) => from <= slot && slot <= to),
    );
    const index = this.nodes.findIndex(({ port }) => port === owner?.port);
    if (index === -1) throw new Error(`RedisClusterServers.ownerOf: no master serves slot ${slot}`);
    return index;
  }

  /**
   * Moves an empty `slot` to master `toIndex`, as a resharding ends (CLUSTER SETSLOT IMPORTING /
   * MIGRATING, then NODE on every master), and waits until the cluster is healthy. Throws when the
   * slot holds keys: moving those is MIGRATE's business, which no test needs yet.
   */
  async moveSlot(slot: number, toIndex: number): Promise<void> {
    const nodes = await this.clusterNodes();
    const masters = nodes.filter((node) => node.flags.includes('master')).map(({ port }) => port);
    const fromIndex = await this.ownerOf(slot);
    const target = this.nodes[toIndex];
    if (target === undefined) throw new Error(`RedisClusterServers.moveSlot: no master ${toIndex}`);
    if (fromIndex === toIndex) return;
    const source = this.nodes[fromIndex] as { host: string; port: number };
    const idOf = (port: number) => nodes.find((node) => node.port === port)?.id as string;
    const send = (node: { host: string; port: number }, args: string[]) =>
      sendRawCommand({ ...node, timeoutMs: 1_000 }, args);
    const keys = await send(source, ['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]);
    if (keys !== '0') throw new Error(`RedisClusterServers.moveSlot: slot ${slot} holds ${keys} keys`);
    await send(target, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', idOf(source.port)]);
    await send(source, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', idOf(target.port)]);
    // SETSLOT is for masters only; replicas learn the new owner by gossip.
    for (const node of [
      target,
      source,
      ...this.nodes.filter((other) => other !== target && other !== source && masters.includes(other.port)),
    ])
      await send(node, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', idOf(target.port)]);
    await this.waitUntilHealthy();
  }

  /** Stops every node and removes their temp directories. */
  async stop(): Promise<void> {
    for (const timer of this.paused.values()) clearTimeout(timer);
    this.paused.clear();
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  private async create(): Promise<void> {
    const addresses = this.nodes.map(({ host, port }) => `${host}:${port}`);
    const replicas = String(this.replicasPerMaster);
    const args = ['--cluster', 'create', ...addresses, '--cluster-replicas', replicas, '--cluster-yes'];
    try {
      await execFileAsync('redis-cli', args, { timeout: CREATE_TIMEOUT_MS });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`redis-cli ${args.join(' ')} failed: ${(error as Error).message}\n${stdout}${stderr}`, {
        cause: error,
      });
    }
  }

  /** CLUSTER NODES as the first live node (running, not paused) sees it. */
  private async clusterNodes(): Promise<ClusterNode[]> {
    const viewer = this.liveNodes()[0];
    if (viewer === undefined) throw new Error('RedisClusterServers: no live node');
    return readClusterNodes(viewer);
  }

  /** The nodes that are running and not paused by {@link pauseMaster}: those that answer. */
  private liveNodes(): Array<{ host: string; port: number }> {
    return this.nodes.filter((_, index) => {
      const server = this.servers[index] as RedisServer;
      return server.running && !this.paused.has(server);
    });
  }

  private indexOfPort(port: number): number {
    const index = this.nodes.findIndex((node) => node.port === port);
    if (index === -1) throw new Error(`RedisClusterServers: port ${port} is not one of this cluster's nodes`);
    return index;
  }

  /** The server of `index` after checking that it is a master serving slots; records those slots. */
  private async masterServer(index: number, method: string): Promise<RedisServer> {
    const server = this.servers[index];
    if (server === undefined) throw new Error(`RedisClusterServers.${method}: no node ${index}`);
    const self = (await this.clusterNodes()).find((node) => node.port === server.port);
    if (self === undefined || !self.flags.includes('master') || self.slots.length === 0) {
      throw new Error(`RedisClusterServers.${method}: node ${index} is not a master serving slots`);
    }
    this.servedBefore.set(index, self.slots);
    return server;
  }

  private unpause(server: RedisServer): void {
    const timer = this.paused.get(server);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.paused.delete(server);
    if (server.running) server.resume();
  }

  /**
   * The index of the master every live node says serves `slot`, when that is not `oldPort`, it is not
   * flagged failing and every live node reports cluster_state:ok; undefined otherwise.
   */
  private async agreedOwner(slot: number, oldPort: number): Promise<number | undefined> {
    const live = this.liveNodes();
    const views = await Promise.all(
      live.map(async (node) => {
        try {
          const [info, nodes] = await Promise.all([
            sendRawCommand({ ...node, timeoutMs: PROBE_TIMEOUT_MS }, ['CLUSTER', 'INFO']),
            readClusterNodes(node),
          ]);
          if (!/^cluster_state:ok/m.test(info ?? '')) return undefined;
          const owner = nodes.find((candidate) =>
            candidate.slots.some(([from, to]) => from <= slot && slot <= to),
          );
          if (owner === undefined || isFailing(owner) || !owner.flags.includes('master')) return undefined;
          return owner.port;
        } catch {
          return undefined;
        }
      }),
    );
    const [first] = views;
    if (first === undefined || first === oldPort || views.some((port) => port !== first)) return undefined;
    return this.indexOfPort(first);
  }

  private async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
    let lastInfo: string[] = [];
    for (;;) {
      lastInfo = await Promise.all(
        this.nodes.map(({ host, port }) =>
          sendRawCommand({ host, port, timeoutMs: 1_000 }, ['CLUSTER', 'INFO']).then(
            (info) => info ?? '',
            (error: Error) => `error: ${error.message}`,
          ),
        ),
      );
      if (lastInfo.every((info) => this.isHealthy(info)) && (await this.rolesSettled())) return;
      if (Date.now() > deadline) {
        const report = this.nodes.map(({ port }, index) => `--- 127.0.0.1:${port} ---\n${lastInfo[index]}`);
        throw new Error(`Redis Cluster not healthy after ${HEALTHY_TIMEOUT_MS} ms:\n${report.join('\n')}`);
      }
      await sleep(50);
    }
  }

  /** Healthy: state ok, every slot served, and every master known with its slots. */
  private isHealthy(info: string): boolean {
    const fields = new Map(
      info.split('\r\n').map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon), line.slice(colon + 1)] as const;
      }),
    );
    return (
      fields.get('cluster_state') === 'ok' &&
      fields.get('cluster_slots_ok') === String(HASH_SLOTS) &&
      fields.get('cluster_known_nodes') === String(this.nodes.length) &&
      fields.get('cluster_size') === String(this.masterCount)
    );
  }

  /**
   * With replicas: every node sees no node failing and each master with its replicas, and every
   * replica's link to its master is up (a rejoined former master has finished its full sync).
   */
  private async rolesSettled(): Promise<boolean> {
    if (this.replicasPerMaster === 0) return true;
    try {
      const views = await Promise.all(this.nodes.map((node) => readClusterNodes(node)));
      for (const nodes of views) {
        if (nodes.some(isFailing)) return false;
        const masters = nodes.filter((node) => node.flags.includes('master') && node.slots.length > 0);
        if (masters.length !== this.masterCount) return false;
        for (const master of masters) {
          const replicas = nodes.filter((node) => node.masterId === master.id);
          if (replicas.length !== this.replicasPerMaster) return false;
        }
      }
      const replicaPorts = (views[0] ?? [])
        .filter((node) => node.masterId !== undefined)
        .map(({ port }) => port);
      const links = await Promise.all(
        replicaPorts.map((port) =>
          sendRawCommand({ host: '127.0.0.1', port, timeoutMs: PROBE_TIMEOUT_MS }, ['INFO', 'replication']),
        ),
      );
      return links.every((info) => /^master_link_status:up/m.test(info ?? ''));
    } catch {
      return false;
    }
  }
}

/** CLUSTER NODES as `node` sees it: each node's id, port, flags, master and slot ranges. */
async function readClusterNodes(node: { host: string; port: number }): Promise<ClusterNode[]> {
  const text = (await sendRawCommand({ ...node, timeoutMs: PROBE_TIMEOUT_MS }, ['CLUSTER', 'NODES'])) ?? '';
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...ranges] = line.trim().split(' ');
      const port = Number(address.split('@')[0]?.split(':').at(-1));
      // Importing/migrating markers ("[5-<-id]") are not ranges the node serves.
      const slots = ranges
        .filter((range) => !range.startsWith('['))
        .map((range): [number, number] => {
          const [from, to = from] = range.split('-').map(Number) as [number, number?];
          return [from, to];
        });
      return { id, port, flags: flags.split(','), masterId: master === '-' ? undefined : master, slots };
    });
}

/** Flagged failing (`fail`) or suspected (`fail?`) by the node that reported it. */
function isFailing(node: ClusterNode): boolean {
  return node.flags.includes('fail') || node.flags.includes('fail?');
}

/** `master` or `slave` as INFO replication says, undefined when the node does not answer. */
async function roleOf(node: { host: string; port: number }): Promise<string | undefined> {
  try {
    const info = await sendRawCommand({ ...node, timeoutMs: PROBE_TIMEOUT_MS }, ['INFO', 'replication']);
    return /^role:(\w+)/m.exec(info ?? '')?.[1];
  } catch {
    return undefined;
  }
}
