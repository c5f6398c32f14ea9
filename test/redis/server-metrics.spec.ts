import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { parseInfo, RedisModule, replicationLag, type RedisModuleOptions } from '@redkit/redis';
import { Redis } from 'ioredis';

import { eventually, metricValue, RedisServer, sharedClusterNodes } from '../harness/index.js';

async function startApp(redis: RedisModuleOptions): Promise<INestApplication> {
  @Module({ imports: [MetricsModule.forRoot({ defaultMetrics: false }), RedisModule.forRoot(redis)] })
  class ServerMetricsAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [ServerMetricsAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('Redis server metrics (serverMetrics)', () => {
  let server: RedisServer;
  let app: INestApplication;
  let metrics: MetricsService;
  let node: string;

  beforeAll(async () => {
    server = await RedisServer.start();
    node = new URL(server.url).host;
    const admin = new Redis(server.url, { enableReadyCheck: false });
    await admin.config('SET', 'maxmemory', String(64 * 1024 * 1024));
    await admin.set('present', '1');
    await admin.get('present');
    await admin.get('absent');
    await admin.quit();
    app = await startApp({ url: server.url, serverMetrics: { intervalMs: 100 } });
    metrics = app.get(MetricsService);
  });

  afterAll(async () => {
    await app?.close();
    server?.resume();
    await server?.stop();
  });

  const series = (name: string) => `redkit_redis_server_${name}{connection="default",node="${node}"}`;

  it('samples memory, maxmemory, clients, the hit ratio and the slow log into gauges', async () => {
    await eventually(async () => expect(await metricValue(metrics, series('up'))).toBe(1));
    expect(await metricValue(metrics, series('used_memory_bytes'))).toBeGreaterThan(100_000);
    expect(await metricValue(metrics, series('maxmemory_bytes'))).toBe(64 * 1024 * 1024);
    expect(await metricValue(metrics, series('connected_clients'))).toBeGreaterThanOrEqual(1);
    expect(await metricValue(metrics, series('keyspace_hit_ratio'))).toBe(0.5);
    expect(await metricValue(metrics, series('replication_lag_seconds'))).toBe(0);
    expect((await metrics.metrics()).includes(series('slowlog_length'))).toBe(true);
  });

  it('counts expired keys as a counter that advances by what each sample adds', async () => {
    await eventually(async () => expect(await metricValue(metrics, series('up'))).toBe(1));
    const before = await metricValue(metrics, series('expired_keys_total'));
    const admin = new Redis(server.url, { enableReadyCheck: false });
    try {
      await Promise.all(
        Array.from({ length: 5 }, (_, index) => admin.set(`short-lived:${index}`, '1', 'PX', 1)),
      );
      await eventually(async () =>
        expect(await metricValue(metrics, series('expired_keys_total'))).toBeGreaterThanOrEqual(before + 5),
      );
      const text = await metrics.metrics();
      expect(text).toContain('# TYPE redkit_redis_server_expired_keys_total counter');
      expect(text).toContain('# TYPE redkit_redis_server_evicted_keys_total counter');
    } finally {
      await admin.quit();
    }
  });

  it('reads up 0 while the server does not answer, and 1 again once it does', async () => {
    server.pause();
    try {
      await eventually(async () => expect(await metricValue(metrics, series('up'))).toBe(0), 5_000);
    } finally {
      server.resume();
    }
    await eventually(async () => expect(await metricValue(metrics, series('up'))).toBe(1), 5_000);
  });

  it('samples every master of a Cluster under its own node label', async () => {
    const cluster = await startApp({
      cluster: { nodes: sharedClusterNodes() },
      serverMetrics: { intervalMs: 100 },
    });
    try {
      const text = async () => cluster.get(MetricsService).metrics();
      await eventually(async () =>
        expect(
          (await text()).match(/^redkit_redis_server_up\{connection="default",node="[^"]+"\} 1$/gm),
        ).toHaveLength(3),
      );
    } finally {
      await cluster.close();
    }
  });

  it("reads a replica's silence from its primary, and a primary's slowest replica, from INFO", () => {
    expect(replicationLag(parseInfo('# Replication\r\nrole:slave\r\nmaster_last_io_seconds_ago:3\r\n'))).toBe(
      3,
    );
    const primary = parseInfo(
      'role:master\r\nslave0:ip=10.0.0.2,port=6379,state=online,offset=1,lag=2\r\nslave1:ip=10.0.0.3,port=6379,state=online,offset=1,lag=5\r\n',
    );
    expect(replicationLag(primary)).toBe(5);
    expect(replicationLag(parseInfo('role:master\r\nconnected_slaves:0\r\n'))).toBe(0);
  });
});
