import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { RedisConnection, RedisHealthIndicator, RedisModule } from '@redkit/redis';

import { captureLogs, eventually, RedisServer, sleep } from '../harness/index.js';

/**
 * Every failure path of a connection with credentials, with what it logs captured: the password
 * must appear in no log line, error message, metric or health result.
 */
describe('secrets never leak', () => {
  const acl = { username: 'redkit-secret-keeper', password: 'p4ss-Wd-SHOULD-NEVER-APPEAR' };
  const wrong = 'wr0ng-PASSWORD-never-logged';
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start({ acl });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const secretIn = (text: string) => text.includes(acl.password) || text.includes(wrong);

  it('a refused password at startup: the error and the logs name the user, not the password', async () => {
    let error: unknown;
    const logs = await captureLogs(async () => {
      error = await RedisConnection.open('refused', {
        url: `redis://${acl.username}:${wrong}@${new URL(server.url).host}`,
      }).catch((caught: unknown) => caught);
    });
    expect((error as Error).message).toMatch(/authentication failed/);
    expect(secretIn(`${(error as Error).message} ${String((error as Error).cause)}`)).toBe(false);
    expect(secretIn(JSON.stringify(logs))).toBe(false);
  });

  it('a refused password in the background: the reconnect warnings never carry it', async () => {
    const logs = await captureLogs(async () => {
      const connection = await RedisConnection.open('background', {
        url: server.url,
        username: acl.username,
        password: wrong,
        startup: 'background',
        reconnectMinDelayMs: 20,
        reconnectMaxDelayMs: 50,
      });
      await sleep(400);
      await connection.close();
    });
    expect(logs.some((entry) => entry.level === 'warn' || entry.level === 'error')).toBe(true);
    expect(secretIn(JSON.stringify(logs))).toBe(false);
  });

  it('a server that stops answering during AUTH: the timeout names the target without the password', async () => {
    server.pause();
    let error: unknown;
    const logs = await captureLogs(async () => {
      error = await RedisConnection.open('frozen', {
        url: `redis://${acl.username}:${encodeURIComponent(acl.password)}@${new URL(server.url).host}`,
        connectTimeoutMs: 500,
      }).catch((caught: unknown) => caught);
    }).finally(() => server.resume());
    expect((error as Error).message).toMatch(/not ready within connectTimeoutMs \(500 ms\)/);
    expect((error as Error).message).toContain(`redis://${acl.username}:***@`);
    expect(secretIn((error as Error).message)).toBe(false);
    expect(secretIn(JSON.stringify(logs))).toBe(false);
  });

  it('a connection that goes down and comes back: its metrics, health and logs carry no password', async () => {
    @Module({
      imports: [
        MetricsModule.forRoot({ defaultMetrics: false }),
        RedisModule.forRoot({
          url: `redis://${acl.username}:${encodeURIComponent(acl.password)}@${new URL(server.url).host}`,
          commandTimeoutMs: 200,
          reconnectMinDelayMs: 20,
          reconnectMaxDelayMs: 50,
        }),
      ],
      providers: [RedisHealthIndicator],
    })
    class SecretAppModule {}
    let text = '';
    const logs = await captureLogs(async () => {
      const moduleRef = await Test.createTestingModule({ imports: [SecretAppModule] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      try {
        const health = app.get(RedisHealthIndicator);
        text += JSON.stringify(await health.isHealthy('redis'));
        server.pause();
        text += JSON.stringify(await health.isHealthy('redis').catch((error: unknown) => String(error)));
        server.resume();
        await eventually(async () => expect((await health.isHealthy('redis')).redis.status).toBe('up'));
        text += await app.get(MetricsService).metrics();
      } finally {
        server.resume();
        await app.close();
      }
    });
    expect(text).toContain('redkit_redis_');
    expect(secretIn(text)).toBe(false);
    expect(secretIn(JSON.stringify(logs))).toBe(false);
  });
});
