import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisConnection, RedisConnectionError } from '@redkit/redis';

import { RedisServer, generateTlsFiles, type TlsFiles } from '../harness/index.js';

describe('TLS', () => {
  let tls: TlsFiles;
  let server: RedisServer;

  beforeAll(async () => {
    tls = await generateTlsFiles();
    server = await RedisServer.start({ tls });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('connects over rediss:// when given the CA that signed the server certificate', async () => {
    const connection = await RedisConnection.open('tls', {
      url: server.url,
      tls: { ca: readFileSync(tls.caCert) },
    });
    try {
      expect(await connection.client.ping()).toBe('PONG');
    } finally {
      await connection.close();
    }
  });

  it('fails with a certificate error naming the fix, not a hang, without the CA', async () => {
    const attempt = RedisConnection.open('tls', { url: server.url, connectTimeoutMs: 20_000 });
    await expect(attempt).rejects.toThrow(RedisConnectionError);
    await expect(attempt).rejects.toThrow(
      /TLS certificate rejected \(SELF_SIGNED_CERT_IN_CHAIN.*pass tls\.ca/,
    );
  });

  it('fails with a clear error when a plain client meets the TLS port', async () => {
    const plainUrl = server.url.replace('rediss://', 'redis://');
    await expect(RedisConnection.open('plain', { url: plainUrl, connectTimeoutMs: 1_500 })).rejects.toThrow(
      /Redis connection "plain" to redis:\/\/127\.0\.0\.1:\d+ failed: not ready within connectTimeoutMs \(1500 ms\)/,
    );
  });
});

describe('ACL', () => {
  let server: RedisServer;
  const acl = { username: 'redkit-app', password: 'correct horse battery staple' };

  beforeAll(async () => {
    server = await RedisServer.start({ acl });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('connects with the right user and password', async () => {
    const connection = await RedisConnection.open('acl', { url: server.url, ...acl });
    try {
      expect(await connection.client.call('ACL', 'WHOAMI')).toBe(acl.username);
    } finally {
      await connection.close();
    }
  });

  it('takes credentials from the URL, percent-decoded', async () => {
    const url = server.url.replace(
      'redis://',
      `redis://${acl.username}:${encodeURIComponent(acl.password)}@`,
    );
    const connection = await RedisConnection.open('acl-url', { url });
    try {
      expect(await connection.client.call('ACL', 'WHOAMI')).toBe(acl.username);
    } finally {
      await connection.close();
    }
  });

  it('fails fast on a wrong password: an authentication error, not the connect timeout', async () => {
    const attempt = RedisConnection.open('acl', {
      url: server.url,
      username: acl.username,
      password: 'wrong',
      connectTimeoutMs: 30_000,
    });
    await expect(attempt).rejects.toThrow(
      /failed: authentication failed \(WRONGPASS.*check username and password/,
    );
  });

  it('keeps the password out of the error message', async () => {
    const url = server.url.replace('redis://', `redis://${acl.username}:wrong-secret@`);
    const error = await RedisConnection.open('acl', { url }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as Error).message).not.toContain('wrong-secret');
  });
});
