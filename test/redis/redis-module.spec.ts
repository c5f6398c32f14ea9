import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  InjectRedis,
  InjectRedisConnection,
  RedisConnection,
  RedisHealthIndicator,
  RedisModule,
  RedisOptionsError,
  type RedisClient,
} from '@redkit/redis';

import { RedisServer, sharedAdminRedisUrl, sharedRedisUrl, eventually } from '../harness/index.js';
import { freePort } from '../harness/free-port.js';

@Injectable()
class TwoConnectionsUser {
  constructor(
    @InjectRedis() readonly main: RedisClient,
    @InjectRedis('events') readonly events: RedisClient,
    @InjectRedisConnection('events') readonly eventsConnection: RedisConnection,
  ) {}
}

describe('RedisModule', () => {
  let second: RedisServer;

  beforeAll(async () => {
    second = await RedisServer.start();
  });

  afterAll(async () => {
    await second?.stop();
  });

  it('gives several named connections, each to its own server, and closes them all on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl() }),
        RedisModule.forRootAsync({
          name: 'events',
          useFactory: async () => ({ url: second.url, keyPrefix: 'events-app' }),
        }),
      ],
      providers: [TwoConnectionsUser],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const user = app.get(TwoConnectionsUser);
    // Each connection's write lands on its own server (CONFIG GET port would say so too, but the
    // modules' ACL user has no @dangerous command).
    const marker = `redkit-test:which-server:${process.pid}`;
    await user.main.set(marker, 'main', 'PX', 60_000);
    await user.events.set(marker, 'events', 'PX', 60_000);
    const mainAdmin = new Redis(sharedAdminRedisUrl(), { enableReadyCheck: false });
    const secondAdmin = new Redis(second.url, { enableReadyCheck: false });
    try {
      expect(await mainAdmin.get(marker)).toBe('main');
      expect(await secondAdmin.get(marker)).toBe('events');
    } finally {
      await mainAdmin.del(marker);
      mainAdmin.disconnect();
      secondAdmin.disconnect();
    }
    expect(user.eventsConnection.keyspace('cache').key('a')).toBe('events-app:cache:a');
    const health = await app.get(RedisHealthIndicator).isHealthy('events', { connection: 'events' });
    expect(health.events.status).toBe('up');

    await app.close();
    expect(user.main.status).toBe('end');
    expect(user.events.status).toBe('end');
  });

  it.each([
    [{ url: 'localhost:6379' }, 'url'],
    [{ commandTimeoutMs: -1 }, 'commandTimeoutMs'],
    [{ cluster: { nodes: [] } }, 'cluster.nodes'],
  ])('fails at startup naming the bad option %j', async (options, option) => {
    const creating = Test.createTestingModule({ imports: [RedisModule.forRoot(options)] }).compile();
    await expect(creating).rejects.toThrow(RedisOptionsError);
    await expect(
      Test.createTestingModule({ imports: [RedisModule.forRoot(options)] }).compile(),
    ).rejects.toThrow(`RedisModule option "${option}"`);
  });

  it('fails at startup within connectTimeoutMs when nothing answers, saying where it tried', async () => {
    const port = await freePort();
    await expect(
      Test.createTestingModule({
        imports: [RedisModule.forRoot({ port, connectTimeoutMs: 500 })],
      }).compile(),
    ).rejects.toThrow(
      new RegExp(
        `Redis connection "default" to redis://127\\.0\\.0\\.1:${port}/0 failed: not ready within connectTimeoutMs \\(500 ms\\); last error: connection refused`,
      ),
    );
  });

  it('with startup "background" boots without Redis, reports down, and connects when Redis appears', async () => {
    const late = await RedisServer.start();
    await late.kill();
    @Module({ imports: [RedisModule.forRoot({ url: late.url, startup: 'background' })] })
    class BackgroundModule {}
    const app = (
      await Test.createTestingModule({ imports: [BackgroundModule] }).compile()
    ).createNestApplication({
      logger: false,
    });
    await app.init();
    const health = app.get(RedisHealthIndicator);
    try {
      expect((await health.isHealthy('redis', { timeoutMs: 200 })).redis.status).toBe('down');
      await late.restart();
      await eventually(async () => expect((await health.isHealthy('redis')).redis.status).toBe('up'));
    } finally {
      await app.close();
      await late.stop();
    }
  });

  it('refuses a connection name that is not a plain identifier', () => {
    expect(() => RedisModule.forRoot({ name: 'a b' } as never)).toThrow('RedisModule option "name"');
  });
});
