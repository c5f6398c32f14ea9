import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection, RedisOptionsError } from '@redkit/redis';

import { captureLogs, RedisServer } from '../harness/index.js';

describe('the production guard on real servers (NODE_ENV=production)', () => {
  const acl = { username: 'redkit-guarded', password: 'guard-secret-7f3a' };
  let plain: RedisServer;
  let withAcl: RedisServer;
  const environment = process.env.NODE_ENV;

  beforeAll(async () => {
    [plain, withAcl] = await Promise.all([RedisServer.start(), RedisServer.start({ acl })]);
  });

  afterEach(() => {
    process.env.NODE_ENV = environment;
  });

  afterAll(async () => {
    await Promise.all([plain?.stop(), withAcl?.stop()]);
  });

  it('warns once about a connection without a password, and the connection still works', async () => {
    process.env.NODE_ENV = 'production';
    let connection: RedisConnection | undefined;
    const logs = await captureLogs(async () => {
      connection = await RedisConnection.open('unguarded', { url: plain.url });
    });
    try {
      expect(await connection!.client.ping()).toBe('PONG');
    } finally {
      await connection?.close();
    }
    const warnings = logs.filter((entry) => entry.level === 'warn' && entry.context === 'Redis:unguarded');
    expect(warnings.map((entry) => entry.message)).toEqual([
      expect.stringContaining('connects without a password: give username and password'),
    ]);
  });

  it("refuses to start with security 'strict' and opens no connection", async () => {
    process.env.NODE_ENV = 'production';
    const before = Number(/connected_clients:(\d+)/.exec(await withAdmin(plain))?.[1]);
    await expect(RedisConnection.open('strict', { url: plain.url, security: 'strict' })).rejects.toThrow(
      RedisOptionsError,
    );
    const after = Number(/connected_clients:(\d+)/.exec(await withAdmin(plain))?.[1]);
    expect(after).toBe(before);
  });

  it('passes a least-privilege user with a password on loopback, strict and silent', async () => {
    process.env.NODE_ENV = 'production';
    let connection: RedisConnection | undefined;
    const logs = await captureLogs(async () => {
      connection = await RedisConnection.open('guarded', { url: withAcl.url, ...acl, security: 'strict' });
    });
    try {
      expect(await connection!.client.call('ACL', 'WHOAMI')).toBe(acl.username);
    } finally {
      await connection?.close();
    }
    expect(logs.filter((entry) => entry.level === 'warn')).toEqual([]);
  });

  it('warns about the default user with a password, and never logs the password', async () => {
    process.env.NODE_ENV = 'production';
    const logs = await captureLogs(async () => {
      // The ACL server's default user is off: the attempt fails, but the guard has spoken first.
      await RedisConnection.open('as-default', {
        url: withAcl.url,
        password: acl.password,
        connectTimeoutMs: 1_000,
      }).then(
        (connection) => connection.close(),
        () => undefined,
      );
    });
    const text = JSON.stringify(logs);
    expect(text).toContain('connects as the default user');
    expect(text).not.toContain(acl.password);
  });
});

/** INFO clients of `server`, through a connection of the test's own. */
async function withAdmin(server: RedisServer): Promise<string> {
  const connection = await RedisConnection.open('admin', { url: server.url, security: 'off' });
  try {
    return (await connection.client.call('INFO', 'clients')) as string;
  } finally {
    await connection.close();
  }
}
