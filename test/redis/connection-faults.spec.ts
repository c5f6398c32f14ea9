import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { RedisConnection, RedisHealthIndicator, getRedisConnectionToken } from '@redkit/redis';

import { RedisClusterServers, RedisServer, eventually, messageFrom, workerOutput } from '../harness/index.js';
import { freePort } from '../harness/free-port.js';
import { createRedisTestApp } from './redis-test-app.js';

describe('commandTimeoutMs against a paused server', () => {
  let server: RedisServer;
  let connection: RedisConnection;

  beforeAll(async () => {
    server = await RedisServer.start();
    connection = await RedisConnection.open('timeout', { url: server.url, commandTimeoutMs: 200 });
  });

  afterAll(async () => {
    server?.resume();
    await connection?.close();
    await server?.stop();
  });

  it('rejects a command with "Command timed out" while the server is stopped, and recovers after resume', async () => {
    await connection.client.set('redkit-test:timeout', 'before');
    server.pause();
    try {
      await expect(connection.client.get('redkit-test:timeout')).rejects.toThrow('Command timed out');
      await expect(connection.client.incr('redkit-test:timeout-counter')).rejects.toThrow(
        'Command timed out',
      );
    } finally {
      server.resume();
    }
    expect(await eventually(() => connection.client.get('redkit-test:timeout'))).toBe('before');
    await connection.client.del('redkit-test:timeout', 'redkit-test:timeout-counter');
  });

  it('fails commands at once while disconnected instead of queueing them (offlineQueue off)', async () => {
    await server.kill();
    try {
      await eventually(async () => expect(connection.client.status).not.toBe('ready'));
      await expect(connection.client.get('redkit-test:anything')).rejects.toThrow(
        /writeable|Connection is closed/,
      );
    } finally {
      await server.restart();
    }
    expect(await eventually(() => connection.client.ping())).toBe('PONG');
  });

  it('connects again a client ioredis ended without being asked (as a Sentinel failover notice mid-connect does)', async () => {
    // disconnect() ends the client the way ioredis's connect() does when its connector is closed
    // under it: status 'end', no reconnect of its own.
    const ended = new Promise((resolve) => connection.client.once('end', resolve));
    connection.client.disconnect();
    await ended;
    await expect(connection.client.get('redkit-test:anything')).rejects.toThrow('Connection is closed');
    expect(await eventually(() => connection.client.ping())).toBe('PONG');
  });

  it('leaves a closed connection closed', async () => {
    const other = await RedisConnection.open('closed', { url: server.url });
    await other.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.client.status).toBe('end');
  });
});

describe('RedisHealthIndicator', () => {
  let server: RedisServer;
  let app: INestApplication;
  let health: RedisHealthIndicator;

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await createRedisTestApp({ url: server.url, commandTimeoutMs: 300 });
    health = app.get(RedisHealthIndicator);
  });

  afterAll(async () => {
    server?.resume();
    await app?.close();
    await server?.stop();
  });

  it('reports up with the PING latency', async () => {
    const result = await health.isHealthy('redis');
    expect(result.redis).toMatchObject({ status: 'up', connection: 'default', state: 'ready' });
    expect(result.redis.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('reports down while the server is paused, and up after it resumes', async () => {
    server.pause();
    try {
      const result = await health.isHealthy('redis', { timeoutMs: 200 });
      expect(result.redis.status).toBe('down');
      expect(result.redis.message).toContain('200 ms');
    } finally {
      server.resume();
    }
    expect(
      (
        await eventually(async () => {
          const result = await health.isHealthy('redis');
          expect(result.redis.status).toBe('up');
          return result;
        })
      ).redis.status,
    ).toBe('up');
  });

  it('reports down while the server is killed, and up once it is back on the same port', async () => {
    await server.kill();
    try {
      await eventually(async () => expect((await health.isHealthy('redis')).redis.status).toBe('down'));
      const connection = app.get<RedisConnection>(getRedisConnectionToken());
      // ioredis emits status events a tick after the status changes.
      await eventually(async () => expect(connection.state.status).toBe('down'));
    } finally {
      await server.restart();
    }
    await eventually(async () => expect((await health.isHealthy('redis')).redis.status).toBe('up'));
  });
});

describe('commandTimeoutMs on a Redis Cluster with one master paused', () => {
  let cluster: RedisClusterServers;
  let connection: RedisConnection;

  beforeAll(async () => {
    cluster = await RedisClusterServers.start();
    connection = await RedisConnection.open('cluster-timeout', {
      cluster: { nodes: cluster.nodes },
      commandTimeoutMs: 200,
    });
  });

  afterAll(async () => {
    for (const server of cluster?.servers ?? []) server.resume();
    await connection?.close();
    await cluster?.stop();
  });

  it('times out commands routed to the paused master and recovers after resume', async () => {
    const { client } = connection;
    const key = 'redkit-test:cluster-timeout';
    await client.set(key, 'v');
    const port = await ownerPort(connection, key);
    const owner = cluster.servers.find((server) => server.port === port) as RedisServer;
    owner.pause();
    try {
      await expect(client.get(key)).rejects.toThrow('Command timed out');
    } finally {
      owner.resume();
    }
    expect(await eventually(() => client.get(key))).toBe('v');
    await client.del(key);
  });
});

/** The port of the master that owns `key`'s slot. */
async function ownerPort(connection: RedisConnection, key: string): Promise<number> {
  const slot = (await connection.client.cluster('KEYSLOT', key)) as number;
  const slots = await connection.client.cluster('SLOTS');
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  return range?.[2]?.[1] ?? 0;
}

describe('a connection given up at startup', () => {
  it('leaves nothing that keeps the process alive (ioredis arms a 2 s disconnect timer on a closed socket)', async () => {
    const port = await freePort();
    // Runs libs/redis/dist, built once by the test harness's global setup.
    const child = fork(
      fileURLToPath(new URL('./fixtures/give-up.worker.mjs', import.meta.url)),
      [String(port)],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', workerOutput, workerOutput, 'ipc'],
      },
    );
    const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(Date.now())));
    try {
      expect(await messageFrom(child, (message) => typeof message === 'string')).toBe('gave-up');
      const gaveUpAt = Date.now();
      // Before the fix the process lived on for ioredis's default disconnectTimeout, 2 s.
      expect((await exited) - gaveUpAt).toBeLessThan(1_500);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
