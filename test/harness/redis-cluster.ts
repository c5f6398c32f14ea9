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

/**
 * A Redis Cluster of real redis-server processes: `masters` masters (3 by default), no replicas, the
 * 16384 slots split between them by `redis-cli --cluster create`.
 *
 * start() resolves only once every node reports cluster_state:ok and knows where every slot lives, so
 * a cluster client connecting right after sees a settled cluster.
 *
 * @example
 * const cluster = await RedisClusterServers.start();
 * const client = new Cluster(cluster.nodes);
 * // ...
 * await client.quit();
 * await cluster.stop();
 */
export class RedisClusterServers {
  /** One RedisServer per master, in the order they were given to redis-cli. */
  readonly servers: RedisServer[];
  /** Seed nodes for a cluster client. */
  readonly nodes: Array<{ host: string; port: number }>;

  private constructor(servers: RedisServer[]) {
    this.servers = servers;
    this.nodes = servers.map(({ host, port }) => ({ host, port }));
  }

  /** Starts the nodes, creates the cluster and waits until it is healthy on every node. */
  static async start(options: { masters?: number } = {}): Promise<RedisClusterServers> {
    const masters = options.masters ?? 3;
    if (!Number.isInteger(masters) || masters < 3) {
      throw new Error(
        `RedisClusterServers options.masters must be an integer >= 3 (redis-cli needs 3), got ${masters}`,
      );
    }
    requireRedisBinaries();
    const started = await Promise.allSettled(
      Array.from({ length: masters }, () => RedisServer.start({ cluster: true })),
    );
    const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const cluster = new RedisClusterServers(servers);
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
   * Kills master `index` and starts it again on the same port (it rejoins as itself, with its slots and
   * an empty dataset); resolves once the cluster is healthy on every node again.
   */
  async restartNode(index: number): Promise<void> {
    const server = this.servers[index];
    if (server === undefined) throw new Error(`RedisClusterServers.restartNode: no master ${index}`);
    await server.restart();
    await this.waitUntilHealthy();
  }

  /** The index of the master that serves `slot`, as master 0 sees the cluster. */
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
    for (const node of [
      target,
      source,
      ...this.nodes.filter((other) => other !== target && other !== source),
    ])
      await send(node, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', idOf(target.port)]);
    await this.waitUntilHealthy();
  }

  /** Stops every node and removes their temp directories. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  private async create(): Promise<void> {
    const addresses = this.nodes.map(({ host, port }) => `${host}:${port}`);
    const args = ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'];
    try {
      await execFileAsync('redis-cli', args, { timeout: CREATE_TIMEOUT_MS });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`redis-cli ${args.join(' ')} failed: ${(error as Error).message}\n${stdout}${stderr}`, {
        cause: error,
      });
    }
  }

  /** CLUSTER NODES as master 0 sees it: each node's id, port and slot ranges. */
  private async clusterNodes(): Promise<Array<{ id: string; port: number; slots: Array<[number, number]> }>> {
    const [first] = this.nodes;
    if (first === undefined) throw new Error('RedisClusterServers: no node');
    const text = (await sendRawCommand({ ...first, timeoutMs: 1_000 }, ['CLUSTER', 'NODES'])) ?? '';
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [id = '', address = '', , , , , , , ...ranges] = line.trim().split(' ');
        const port = Number(address.split('@')[0]?.split(':').at(-1));
        // Importing/migrating markers ("[5-<-id]") are not ranges the node serves.
        const slots = ranges
          .filter((range) => !range.startsWith('['))
          .map((range): [number, number] => {
            const [from, to = from] = range.split('-').map(Number) as [number, number?];
            return [from, to];
          });
        return { id, port, slots };
      });
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
      if (lastInfo.every((info) => this.isHealthy(info))) return;
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
    const masters = String(this.nodes.length);
    return (
      fields.get('cluster_state') === 'ok' &&
      fields.get('cluster_slots_ok') === String(HASH_SLOTS) &&
      fields.get('cluster_known_nodes') === masters &&
      fields.get('cluster_size') === masters
    );
  }
}
