import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { join } from 'node:path';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  eventually,
  generateTlsFiles,
  RedisClusterServers,
  RedisSentinelGroup,
  RedisServer,
  sharedClusterNodes,
  sharedRedisUrl,
  type TlsFiles,
} from './index.js';
import { createRunDirectory, killRecordedServers, removeRunDirectory, RUN_DIR_ENV } from './run-directory.js';

/** Every client a test opens, disconnected after it whatever the outcome. */
const clients: Array<Redis | Cluster> = [];

/** A client that fails fast: no reconnection, no offline queue, a short command timeout. */
function connectClient(target: string | { host: string; port: number }, options: RedisOptions = {}): Redis {
  const defaults: RedisOptions = {
    lazyConnect: true,
    // INFO (the ready check) is not among the shared servers' least-privilege user's commands.
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: 2_000,
    ...options,
  };
  const client =
    typeof target === 'string' ? new Redis(target, defaults) : new Redis({ ...target, ...defaults });
  client.on('error', () => {}); // failures are asserted through the command promises
  clients.push(client);
  return client;
}

function connectCluster(nodes: Array<{ host: string; port: number }>): Cluster {
  const client = new Cluster(nodes, { lazyConnect: true, clusterRetryStrategy: () => null });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

/** Completes a TLS handshake (and nothing else) with the given client options. */
function tlsHandshake(port: number, options: ConnectionOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ...options }, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

describe('RedisServer', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('answers PING on a loopback port once start() resolves', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.running).toBe(true);
    expect(server.pid).toEqual(expect.any(Number));
    const client = connectClient(server.url);
    await client.connect();
    await expect(client.ping()).resolves.toBe('PONG');
  });

  it('stops answering while paused and answers again after resume', async () => {
    const client = connectClient(server.url, { commandTimeout: 300 });
    await client.connect();
    await expect(client.ping()).resolves.toBe('PONG');
    server.pause();
    try {
      await expect(client.ping()).rejects.toThrow('Command timed out');
    } finally {
      server.resume();
    }
    await expect(client.ping()).resolves.toBe('PONG');
  });

  it('records its pid for the orphan sweep while it runs and forgets it once it exits', async () => {
    const pidFile = join(process.env[RUN_DIR_ENV] ?? '', 'pids', String(server.pid));
    expect(existsSync(pidFile)).toBe(true);
    const other = await RedisServer.start();
    const otherPidFile = join(process.env[RUN_DIR_ENV] ?? '', 'pids', String(other.pid));
    await other.stop();
    expect(existsSync(otherPidFile)).toBe(false);
    expect(other.running).toBe(false);
    await expect(other.stop()).resolves.toBeUndefined(); // idempotent
  });
});

describe('RedisServer kill and restart', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('refuses connections after kill() and serves an empty dataset on the same port after restart()', async () => {
    const port = server.port;
    const before = connectClient(server.url);
    await before.connect();
    await before.set('harness:restart', 'kept?');
    before.disconnect();

    await server.kill();
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();
    await expect(connectClient(server.url).connect()).rejects.toThrow(/ECONNREFUSED|Connection is closed/);

    await server.restart();
    expect(server.port).toBe(port);
    expect(server.running).toBe(true);
    const after = connectClient(server.url);
    await after.connect();
    await expect(after.ping()).resolves.toBe('PONG');
    await expect(after.get('harness:restart')).resolves.toBeNull();
  });
});

describe('RedisServer startup failures', () => {
  it('rejects quickly with what redis-server printed when it refuses its arguments', async () => {
    const startedAt = Date.now();
    await expect(RedisServer.start({ args: ['--no-such-directive', 'yes'] })).rejects.toThrow(
      /did not start: redis-server exited with code 1[\s\S]*no-such-directive/,
    );
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });
});

describe('run directory orphan sweep', () => {
  it('SIGKILLs a recorded redis-server that nobody stopped', async () => {
    // A run directory of its own, so the sweep cannot touch servers other tests are using.
    const sharedRunDirectory = process.env[RUN_DIR_ENV];
    const runDirectory = createRunDirectory();
    process.env[RUN_DIR_ENV] = runDirectory;
    let server: RedisServer | undefined;
    try {
      server = await RedisServer.start();
      await expect(killRecordedServers(runDirectory)).resolves.toBe(1);
      const killed = server;
      await eventually(() => expect(killed.running).toBe(false), 2_000, 10);
    } finally {
      await server?.stop();
      await removeRunDirectory(runDirectory);
      if (sharedRunDirectory === undefined) delete process.env[RUN_DIR_ENV];
      else process.env[RUN_DIR_ENV] = sharedRunDirectory;
    }
  });
});

describe('RedisClusterServers', () => {
  let cluster: RedisClusterServers;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('reports cluster_state:ok with all 16384 slots on each of its 3 masters', async () => {
    expect(cluster.servers).toHaveLength(3);
    expect(cluster.nodes).toEqual(cluster.servers.map(({ host, port }) => ({ host, port })));
    for (const node of cluster.nodes) {
      const client = connectClient(node);
      await client.connect();
      const info = (await client.cluster('INFO')) as string;
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_ok:16384');
      expect(info).toContain('cluster_known_nodes:3');
    }
  });

  it('serves keys from every master to a cluster client', async () => {
    const client = connectCluster(cluster.nodes);
    await client.connect();
    // Hash tags a, b and c fall in slots 15495, 3300 and 7365: one in each master's range.
    const keys = ['harness:{a}', 'harness:{b}', 'harness:{c}'];
    for (const key of keys) await client.set(key, key);
    for (const key of keys) await expect(client.get(key)).resolves.toBe(key);
    for (const node of cluster.nodes) {
      const nodeClient = connectClient(node);
      await nodeClient.connect();
      await expect(nodeClient.dbsize()).resolves.toBe(1);
    }
  });
});

/** `master` or `slave`, as the server's INFO replication says. */
async function roleOf(server: RedisServer): Promise<string | undefined> {
  const client = connectClient(server.url);
  await client.connect();
  const info = await client.info('replication');
  client.disconnect();
  return /^role:(\w+)/m.exec(info)?.[1];
}

/** True once nothing answers on `pid` any more. */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('RedisSentinelGroup', () => {
  let group: RedisSentinelGroup;

  beforeAll(async () => {
    group = await RedisSentinelGroup.start({ replicas: 2, sentinels: 3 });
  });

  afterAll(async () => {
    await group?.stop();
  });

  /** A Sentinel client, as a user connects: asks the Sentinels for the primary and writes there. */
  function connectThroughSentinels(): Redis {
    const client = new Redis({
      sentinels: group.sentinelAddresses,
      name: group.name,
      lazyConnect: true,
      enableReadyCheck: false,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      commandTimeout: 2_000,
    });
    client.on('error', () => {});
    clients.push(client);
    return client;
  }

  it('starts a primary with two replicas in sync and three Sentinels that name it', async () => {
    expect(group.servers).toHaveLength(3);
    expect(group.sentinels).toHaveLength(3);
    expect(group.sentinelAddresses).toEqual(group.sentinels.map(({ host, port }) => ({ host, port })));
    expect(await group.currentPrimary()).toBe(group.servers[0]);
    expect(group.replicas).toEqual(group.servers.slice(1));
    for (const replica of group.replicas) expect(await roleOf(replica)).toBe('slave');
    const client = connectThroughSentinels();
    await client.connect();
    await client.set('harness:sentinel', 'through sentinels');
    await expect(client.get('harness:sentinel')).resolves.toBe('through sentinels');
    const replicaClient = connectClient(group.replicas[0]?.url ?? '');
    await replicaClient.connect();
    await eventually(async () =>
      expect(await replicaClient.get('harness:sentinel')).toBe('through sentinels'),
    );
  });

  it('promotes a replica once the primary is killed, and takes the old primary back as a replica', async () => {
    const old = await group.killPrimary();
    expect(old.running).toBe(false);
    const next = await group.waitForPrimaryChange(old);
    expect(next).not.toBe(old);
    expect(group.primary).toBe(next);
    expect(await roleOf(next)).toBe('master');
    const client = connectThroughSentinels();
    await client.connect();
    await client.set('harness:sentinel', 'after the kill');
    expect(client.stream.remotePort).toBe(next.port);

    await group.rejoinAsReplica(old);
    expect(old.running).toBe(true);
    expect(await roleOf(old)).toBe('slave');
    expect(group.replicas).toContain(old);
  });

  it('hands the primary over on forceFailover() with every server up', async () => {
    const old = await group.forceFailover();
    const next = await group.waitForPrimaryChange(old);
    expect(next).not.toBe(old);
    expect(await roleOf(next)).toBe('master');
    await group.rejoinAsReplica(old);
    expect(await roleOf(old)).toBe('slave');
  });

  it('fails over while the primary is paused, and demotes it once it is back', async () => {
    const old = await group.pausePrimary(group.downAfterMs + 10_000);
    const next = await group.waitForPrimaryChange(old);
    expect(next).not.toBe(old);
    await group.rejoinAsReplica(old);
    expect(await roleOf(old)).toBe('slave');
  });

  it('leaves no process behind after stop()', async () => {
    const other = await RedisSentinelGroup.start({ replicas: 1, sentinels: 1 });
    const pids = [...other.servers, ...other.sentinels].map((server) => server.pid as number);
    expect(pids).toHaveLength(3);
    await other.stop();
    expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
  });
});

describe('RedisClusterServers with replicas', () => {
  let cluster: RedisClusterServers;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start({ masters: 3, replicas: 1 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts 3 masters serving every slot, each with one replica in sync', async () => {
    expect(cluster.servers).toHaveLength(6);
    const masters = await cluster.masterIndexes();
    expect(masters).toHaveLength(3);
    for (const master of masters) {
      const replica = await cluster.replicaOf(master);
      expect(masters).not.toContain(replica);
      expect(await roleOf(cluster.servers[replica] as RedisServer)).toBe('slave');
    }
    const client = connectCluster(cluster.nodes);
    await client.connect();
    for (const key of ['harness:{a}', 'harness:{b}', 'harness:{c}']) await client.set(key, key);
    await expect(client.get('harness:{b}')).resolves.toBe('harness:{b}');
  });

  it('lets the replica take over a killed master, which rejoins as its replica', async () => {
    const [master] = await cluster.masterIndexes();
    const replica = await cluster.replicaOf(master as number);
    await cluster.killMaster(master as number);
    expect(await cluster.waitForMasterChange(master as number)).toBe(replica);
    expect(await cluster.masterIndexes()).toContain(replica);
    await cluster.restartNode(master as number);
    expect(await roleOf(cluster.servers[master as number] as RedisServer)).toBe('slave');
    expect(await cluster.replicaOf(replica)).toBe(master);
  });

  it('hands a master over on forceFailover(replica) with every node up', async () => {
    const [master] = await cluster.masterIndexes();
    const replica = await cluster.replicaOf(master as number);
    expect(await cluster.forceFailover(replica)).toBe(master);
    expect(await cluster.waitForMasterChange(master as number)).toBe(replica);
    await eventually(async () =>
      expect(await roleOf(cluster.servers[master as number] as RedisServer)).toBe('slave'),
    );
  });

  it('fails a paused master over and takes it back as a replica once resumed', async () => {
    const [master] = await cluster.masterIndexes();
    const replica = await cluster.replicaOf(master as number);
    await cluster.pauseMaster(master as number, 4_000);
    expect(await cluster.waitForMasterChange(master as number)).toBe(replica);
    await eventually(
      async () => expect(await roleOf(cluster.servers[master as number] as RedisServer)).toBe('slave'),
      10_000,
    );
  });
});

describe('shared servers from globalSetup', () => {
  it('reaches the shared standalone server through sharedRedisUrl()', async () => {
    const client = connectClient(sharedRedisUrl());
    await client.connect();
    await expect(client.ping()).resolves.toBe('PONG');
  });

  it('reaches the shared 3-master cluster through sharedClusterNodes()', async () => {
    const nodes = sharedClusterNodes();
    expect(nodes).toHaveLength(3);
    const client = connectCluster(nodes);
    await client.connect();
    await client.set('harness:shared-cluster', 'reachable');
    await expect(client.get('harness:shared-cluster')).resolves.toBe('reachable');
    const info = (await client.cluster('INFO')) as string;
    expect(info).toContain('cluster_state:ok');
  });
});

describe('RedisServer with tls', () => {
  let tls: TlsFiles;
  let server: RedisServer;

  beforeAll(async () => {
    tls = await generateTlsFiles();
    server = await RedisServer.start({ tls });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('serves rediss:// to a client that trusts the generated CA', async () => {
    expect(server.url).toBe(`rediss://127.0.0.1:${server.port}`);
    const client = connectClient(server.url, { tls: { ca: readFileSync(tls.caCert) } });
    await client.connect();
    await expect(client.ping()).resolves.toBe('PONG');
  });

  it('fails the handshake with a certificate error for a client without the CA', async () => {
    await expect(tlsHandshake(server.port, {})).rejects.toMatchObject({
      code: expect.stringMatching(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/),
    });
    await expect(tlsHandshake(server.port, { ca: readFileSync(tls.caCert) })).resolves.toBeUndefined();
  });
});

describe('RedisServer with acl', () => {
  const acl = { username: 'harness-user', password: 'a passphrase with spaces' };
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start({ acl });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('refuses commands before AUTH, rejects a wrong password and accepts the right one', async () => {
    const client = connectClient(server.url, { enableReadyCheck: false });
    await client.connect();
    await expect(client.ping()).rejects.toThrow(/^NOAUTH/);
    await expect(client.auth(acl.username, 'wrong-password')).rejects.toThrow(/^WRONGPASS/);
    await expect(client.auth(acl.username, acl.password)).resolves.toBe('OK');
    await expect(client.ping()).resolves.toBe('PONG');
  });

  it('has the default user disabled', async () => {
    const client = connectClient(server.url, { enableReadyCheck: false });
    await client.connect();
    await expect(client.auth('default', '')).rejects.toThrow(/^WRONGPASS/);
  });
});

describe('eventually', () => {
  it('retries until the callback stops throwing and resolves with its result', async () => {
    let calls = 0;
    const result = await eventually(
      () => {
        calls += 1;
        if (calls < 3) throw new Error(`not yet (${calls})`);
        return 'settled';
      },
      1_000,
      1,
    );
    expect(result).toBe('settled');
    expect(calls).toBe(3);
  });

  it('rethrows the last error once the timeout has passed', async () => {
    let calls = 0;
    await expect(
      eventually(
        async () => {
          calls += 1;
          throw new Error(`still failing (${calls})`);
        },
        30,
        5,
      ),
    ).rejects.toThrow(/^still failing \(\d+\)$/);
    expect(calls).toBeGreaterThan(1);
  });
});
