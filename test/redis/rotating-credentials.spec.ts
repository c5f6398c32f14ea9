import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DedicatedSubscriber,
  RedisConnection,
  RedisConnectionError,
  type RedisCredentials,
  type RenewalOutcome,
} from '@redkit/redis';
import { Redis } from 'ioredis';

import {
  captureLogs,
  eventually,
  RedisServer,
  sharedAclCredentials,
  sharedClusterNodes,
} from '../harness/index.js';

/** Rotation period and length of the load test, as the issue asks (a password lives 3 s). */
const ROTATE_EVERY_MS = 2_000;
const LOAD_FOR_MS = 30_000;
const LIFETIME_MS = 3_000;
const IN_FLIGHT = 32;

/** A provider whose answers the test controls, counting its calls. */
class Rotation {
  calls = 0;
  current: RedisCredentials;

  constructor(username: string, password: string) {
    this.current = { username, password };
  }

  readonly provider = async (): Promise<RedisCredentials> => {
    this.calls += 1;
    return { ...this.current };
  };
}

/**
 * The server side of a rotation the client missed: the user's password is replaced, the provider
 * hands out the new one, and the server drops the user's connections (as a managed Redis does when
 * a token's life is over), so they must reconnect with it.
 */
async function replacePasswordAndDrop(admin: Redis, rotation: Rotation, password: string): Promise<void> {
  const username = rotation.current.username ?? 'default';
  await admin.call('ACL', 'SETUSER', username, 'resetpass', `>${password}`);
  rotation.current = { username, password };
  await admin.call('CLIENT', 'KILL', 'USER', username);
}

/** The ACL user's connections as CLIENT LIST shows them. */
async function clientsOf(admin: Redis, user: string): Promise<string[]> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` user=${user} `));
}

/** Failed AUTH attempts the server logged since the last ACL LOG RESET. */
async function failedAuths(admin: Redis): Promise<number> {
  const entries = (await admin.call('ACL', 'LOG')) as unknown[][];
  return entries.filter((entry) => entry.includes('auth')).length;
}

describe('rotating credentials on a standalone server', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url, { enableReadyCheck: false });
  });

  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  async function createUser(user: string, password: string): Promise<void> {
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '~*', '&*', '+@all');
  }

  /** A user with `<user>-secret-1`, and a connection that reconnects fast, authenticating through a Rotation. */
  async function openRotating(user: string): Promise<{ rotation: Rotation; connection: RedisConnection }> {
    await createUser(user, `${user}-secret-1`);
    const rotation = new Rotation(user, `${user}-secret-1`);
    const connection = await RedisConnection.open(user, {
      url: server.url,
      credentials: rotation.provider,
      reconnectMinDelayMs: 20,
      reconnectMaxDelayMs: 100,
    });
    return { rotation, connection };
  }

  it(
    `rotates the password every ${ROTATE_EVERY_MS} ms for ${LOAD_FOR_MS / 1000} s under ${IN_FLIGHT} commands in flight with zero failed commands`,
    async () => {
      const user = 'rotating';
      let generation = 0;
      const password = (n: number): string => `rotating-secret-${n}`;
      await createUser(user, password(0));
      await admin.call('ACL', 'LOG', 'RESET');
      const rotation = new Rotation(user, password(0));
      rotation.current.expiresAt = Date.now() + LIFETIME_MS;
      const connection = await RedisConnection.open('rotating', {
        url: server.url,
        credentials: rotation.provider,
      });
      const outcomes: RenewalOutcome[] = [];
      connection.onCredentialRenewal((outcome) => outcomes.push(outcome));

      // The server side of a rotation: add the next password, hand it out, and drop the one before the
      // previous, whose life ended a second ago.
      const rotator = setInterval(() => {
        generation += 1;
        const next = generation;
        void (async () => {
          await admin.call('ACL', 'SETUSER', user, `>${password(next)}`);
          rotation.current = {
            username: user,
            password: password(next),
            expiresAt: Date.now() + LIFETIME_MS,
          };
          if (next >= 2) await admin.call('ACL', 'SETUSER', user, `<${password(next - 2)}`);
        })();
      }, ROTATE_EVERY_MS);

      let sent = 0;
      const failures: string[] = [];
      const deadline = Date.now() + LOAD_FOR_MS;
      const worker = async (id: number): Promise<void> => {
        while (Date.now() < deadline) {
          sent += 2;
          try {
            await connection.client.set(`rotating:${id}`, String(sent));
            await connection.client.get(`rotating:${id}`);
          } catch (error) {
            failures.push(String(error));
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: IN_FLIGHT }, (_, id) => worker(id)));
      } finally {
        clearInterval(rotator);
      }
      try {
        expect({ failed: failures.length, firstFailures: failures.slice(0, 3) }).toEqual({
          failed: 0,
          firstFailures: [],
        });
        expect(sent).toBeGreaterThan(1_000);
        // Each rotation was followed by a re-AUTH of the live connection with the password then current:
        // the server refused none (a stale one would be logged as a failed auth).
        expect(outcomes.filter((outcome) => outcome === 'failed')).toEqual([]);
        expect(outcomes.length).toBeGreaterThanOrEqual(LOAD_FOR_MS / LIFETIME_MS);
        expect(await failedAuths(admin)).toBe(0);
        // Only the two newest passwords still work; the connection holds on with them.
        expect(await connection.client.ping()).toBe('PONG');
      } finally {
        await connection.close();
        await admin.del(...Array.from({ length: IN_FLIGHT }, (_, id) => `rotating:${id}`));
      }
    },
    LOAD_FOR_MS + 30_000,
  );

  it('reconnects a connection left idle past its password with a freshly fetched one', async () => {
    const user = 'idle';
    const { rotation, connection } = await openRotating(user);
    try {
      expect(await connection.client.ping()).toBe('PONG');
      const callsBefore = rotation.calls;
      await replacePasswordAndDrop(admin, rotation, `${user}-secret-2`);
      await eventually(async () => expect(await clientsOf(admin, user)).toHaveLength(1));
      await eventually(() => expect(connection.state.status).toBe('ready'));
      expect(await connection.client.get('idle:key')).toBeNull();
      expect(rotation.calls).toBeGreaterThan(callsBefore);
    } finally {
      await connection.close();
    }
  });

  it('gives a dedicated subscriber fresh credentials when it reconnects, and it hears messages again', async () => {
    const user = 'listener';
    const { rotation, connection } = await openRotating(user);
    const heard: string[] = [];
    let listenings = 0;
    const subscriber = new DedicatedSubscriber({
      client: connection.client,
      role: 'rotation-test',
      channels: ['rotation-news'],
      onMessage: (_channel, message) => heard.push(message),
      onListening: () => (listenings += 1),
      onLost: () => undefined,
      onError: () => undefined,
    });
    try {
      await subscriber.start();
      const callsBefore = rotation.calls;
      await replacePasswordAndDrop(admin, rotation, `${user}-secret-2`);
      await eventually(() => expect(listenings).toBe(2));
      expect(rotation.calls).toBeGreaterThan(callsBefore);
      await admin.publish('rotation-news', 'after-rotation');
      await eventually(() => expect(heard).toEqual(['after-rotation']));
    } finally {
      await subscriber.stop();
      await connection.close();
    }
  });

  it('opens no socket when the connection is closed while the provider is still answering', async () => {
    const user = 'cut-short';
    await createUser(user, 'cut-short-secret');
    let release: () => void = () => undefined;
    let calls = 0;
    const connection = await RedisConnection.open('cut-short', {
      url: server.url,
      startup: 'background',
      credentials: async () => {
        calls += 1;
        await new Promise<void>((resolve) => (release = resolve));
        return { username: user, password: 'cut-short-secret' };
      },
    });
    await eventually(() => expect(calls).toBe(1));
    const closed = connection.close();
    release();
    await closed;
    await sleep(200);
    expect(await clientsOf(admin, user)).toEqual([]);
    expect(connection.client.status).toBe('end');
    expect(calls).toBe(1);
  });

  it('fails startup on a refused password with the server reason and no secret in the error or the logs', async () => {
    const user = 'refused';
    await createUser(user, 'the-right-secret');
    const logs = await captureLogs(async () => {
      const attempt = RedisConnection.open('refused', {
        url: server.url,
        connectTimeoutMs: 3_000,
        credentials: async () => ({ username: user, password: 'the-wrong-secret' }),
      });
      await expect(attempt).rejects.toThrow(RedisConnectionError);
      await expect(attempt).rejects.toThrow(/authentication failed \(WRONGPASS/);
      const error = (await attempt.catch((caught: unknown) => caught)) as Error;
      expect(`${error.message} ${String(error.cause)} ${error.stack}`).not.toContain('the-wrong-secret');
    });
    expect(JSON.stringify(logs)).not.toContain('secret');
  });

  it('fails startup naming the provider when it throws or resolves no password, without quoting what it resolved', async () => {
    const throwing = RedisConnection.open('throwing', {
      url: server.url,
      connectTimeoutMs: 1_000,
      credentials: async () => {
        throw new Error('vault is sealed');
      },
    });
    await expect(throwing).rejects.toThrow(
      /not ready within connectTimeoutMs.*credentials\(\) failed: vault is sealed/,
    );
    const malformed = RedisConnection.open('malformed', {
      url: server.url,
      connectTimeoutMs: 1_000,
      credentials: async () =>
        ({ username: 'someone', token: 'a-token-secret' }) as unknown as RedisCredentials,
    });
    await expect(malformed).rejects.toThrow(
      /credentials\(\) must resolve to \{ password: string.*password is missing/,
    );
    const error = (await malformed.catch((caught: unknown) => caught)) as Error;
    expect(`${error.message} ${String(error.cause)}`).not.toContain('a-token-secret');
  });

  it('refuses credentials combined with a password, naming the option', async () => {
    await expect(
      RedisConnection.open('both', {
        url: server.url,
        password: 'static',
        credentials: async () => ({ password: 'rotating' }),
      }),
    ).rejects.toThrow(/"credentials" cannot be combined with username or password/);
  });
});

describe('rotating credentials on the 3-master cluster', () => {
  const { username, password } = sharedAclCredentials();
  const admins = sharedClusterNodes().map(
    ({ host, port }) => new Redis({ host, port, enableReadyCheck: false, lazyConnect: true }),
  );

  afterAll(() => {
    for (const admin of admins) admin.disconnect();
  });

  it('asks the provider for every node connection and again when a node connection is dropped', async () => {
    const rotation = new Rotation(username, password);
    const connection = await RedisConnection.open('rotating-cluster', {
      cluster: { nodes: sharedClusterNodes() },
      credentials: rotation.provider,
      clientName: 'rotating-cluster',
      reconnectMinDelayMs: 20,
      reconnectMaxDelayMs: 100,
    });
    const keys = Array.from({ length: 30 }, (_, index) => `rotating-cluster:{${index}}`);
    try {
      await Promise.all(keys.map((key) => connection.client.set(key, 'v')));
      const callsAfterStart = rotation.calls;
      // The seed connection, the slot refresh and one per master at least.
      expect(callsAfterStart).toBeGreaterThanOrEqual(3);
      // Drop this client's connections on every node (other tests share the cluster: by name only).
      for (const admin of admins) {
        const list = (await admin.call('CLIENT', 'LIST')) as string;
        for (const line of list.split('\n').filter((entry) => entry.includes(' name=rotating-cluster '))) {
          const id = /\bid=(\d+)/.exec(line)?.[1];
          if (id) await admin.call('CLIENT', 'KILL', 'ID', id);
        }
      }
      await eventually(async () => {
        const values = await Promise.all(keys.map((key) => connection.client.get(key)));
        expect(values).toEqual(keys.map(() => 'v'));
      });
      expect(rotation.calls).toBeGreaterThan(callsAfterStart);
    } finally {
      await Promise.all(keys.map((key) => connection.client.del(key).catch(() => undefined)));
      await connection.close();
    }
  });
});

describe('rotating credentials through Sentinel', () => {
  let master: RedisServer;
  let sentinel: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    master = await RedisServer.start();
    sentinel = await RedisServer.start({
      sentinel: { name: 'rotating-master', master: { host: master.host, port: master.port } },
    });
    admin = new Redis(master.url, { enableReadyCheck: false });
  });

  afterAll(async () => {
    admin?.disconnect();
    await Promise.all([sentinel?.stop(), master?.stop()]);
  });

  it('authenticates the master connection Sentinel names with fresh credentials on every reconnect', async () => {
    const user = 'sentinel-user';
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', '>sentinel-secret-1', '~*', '&*', '+@all');
    const rotation = new Rotation(user, 'sentinel-secret-1');
    const connection = await RedisConnection.open('rotating-sentinel', {
      sentinel: { sentinels: [{ host: sentinel.host, port: sentinel.port }], name: 'rotating-master' },
      credentials: rotation.provider,
      reconnectMinDelayMs: 20,
      reconnectMaxDelayMs: 100,
    });
    try {
      expect(await connection.client.set('sentinel:key', 'v')).toBe('OK');
      expect(await clientsOf(admin, user)).toHaveLength(1);
      const callsBefore = rotation.calls;
      await replacePasswordAndDrop(admin, rotation, 'sentinel-secret-2');
      await eventually(async () => expect(await connection.client.get('sentinel:key')).toBe('v'));
      expect(rotation.calls).toBeGreaterThan(callsBefore);
    } finally {
      await connection.close();
    }
  });
});
