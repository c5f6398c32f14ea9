import { spawn } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';

import { RedisServer, eventually, requirePromtool } from '../../../test/harness/index.js';
import { createApp } from '../src/app.factory.js';
import { HTTP_ADAPTERS } from './support/test-app.js';

describe.each(HTTP_ADAPTERS)('orderbook-api skeleton on %s', (httpAdapter) => {
  // Its own server: at startup the app writes its markets' books under the default key prefix.
  let server: RedisServer;
  let app: INestApplication;

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await createApp({ redisUrl: server.url, host: '127.0.0.1', port: 0, httpAdapter }, false);
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('GET /health answers 200 with Redis up and its latency', async () => {
    const response = await request(app.getHttpServer()).get('/health').expect(200);
    expect(response.body.status).toBe('ok');
    expect(response.body.info.redis).toMatchObject({ status: 'up', connection: 'default' });
    expect(typeof response.body.info.redis.latencyMs).toBe('number');
  });

  it('GET /metrics serves redkit_ metrics in the Prometheus text format', async () => {
    const response = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.text).toContain('# TYPE redkit_redis_connection_ready gauge');
    expect(response.text).toContain('redkit_redis_connection_ready{connection="default"} 1');
    expect(response.text).toContain('process_cpu_user_seconds_total');
  });

  it('serves /metrics that promtool check metrics accepts without a warning, after traffic on every module', async () => {
    const http = request(app.getHttpServer());
    await http.get('/markets/BTC-USD/book?depth=5').expect(200);
    await http.get('/markets/BTC-USD/book?depth=5').expect(200);
    await http
      .post('/markets/BTC-USD/orders')
      .send({ side: 'buy', price: '1000.00', quantity: '0.01' })
      .expect(201);
    const { text } = await http.get('/metrics').expect(200);
    expect(text).toContain('redkit_cache_');
    expect(text).toContain('redkit_lock_');
    const verdict = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const promtool = spawn(requirePromtool(), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      promtool.stdout.on('data', (chunk: Buffer) => (output += chunk));
      promtool.stderr.on('data', (chunk: Buffer) => (output += chunk));
      promtool.once('error', reject);
      promtool.once('close', (code) => resolve({ code, output }));
      promtool.stdin.end(text);
    });
    expect(verdict).toEqual({ code: 0, output: '' });
  });

  it('counts answered requests by route pattern and status, and unmatched paths under one label', async () => {
    const http = request(app.getHttpServer());
    await http.get('/markets/BTC-USD/book?depth=5').expect(200);
    await http.get('/markets/BTC-USD/book?depth=oops').expect(400);
    await http.get('/no/such/path/42').expect(404);
    const { text } = await http.get('/metrics').expect(200);
    expect(text).toMatch(
      /^redkit_http_request_duration_seconds_count\{method="GET",route="\/markets\/:symbol\/book",status="200"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^redkit_http_request_duration_seconds_count\{method="GET",route="\/markets\/:symbol\/book",status="400"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^redkit_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]/m,
    );
    expect(text).not.toContain('/no/such/path');
  });

  it('mounts the operations console at /console, read-only, with the order-book ladder of a market after an order', async () => {
    const http = request(app.getHttpServer());
    const page = await http.get('/console').expect(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'nonce-/);
    const session = await http.get('/console/api/session').expect(200);
    expect(session.body).toMatchObject({ mode: 'read-only' });
    expect(session.body.views).toEqual(expect.arrayContaining(['orderbook', 'redis', 'limits', 'cache']));
    await http
      .post('/markets/BTC-USD/orders')
      .send({ side: 'buy', price: '900.00', quantity: '0.25' })
      .expect(201);
    await eventually(async () => {
      const ladder = await http.get('/console/api/orderbook/BTC-USD?depth=50').expect(200);
      expect(ladder.body.bids).toEqual(
        expect.arrayContaining([expect.objectContaining({ price: '900', quantity: '0.25' })]),
      );
    });
    // The server metrics come from the app's own `server-metrics` connection.
    const redis = await http.get('/console/api/redis').expect(200);
    expect(redis.body.available).toBe(true);
    await http
      .post('/console/api/cache/evict')
      .set('content-type', 'application/json')
      .send({ key: 'book' })
      .expect(403);
  });

  it('serves OpenAPI docs at /docs that list the health route', async () => {
    await request(app.getHttpServer()).get('/docs').expect(200).expect('content-type', /html/);
    const spec = await request(app.getHttpServer()).get('/docs-json').expect(200);
    expect(Object.keys(spec.body.paths)).toContain('/health');
  });

  it('can be created a second time in the same process without metric registration errors', async () => {
    const second = await createApp({ redisUrl: server.url, host: '127.0.0.1', port: 0, httpAdapter }, false);
    try {
      const response = await request(second.getHttpServer()).get('/metrics').expect(200);
      expect(response.text).toContain('redkit_redis_connection_ready{connection="default"} 1');
    } finally {
      await second.close();
    }
  });
});

describe.each(HTTP_ADAPTERS)('orderbook-api on %s when Redis goes away', (httpAdapter) => {
  let server: RedisServer;
  let app: INestApplication;

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await createApp({ redisUrl: server.url, host: '127.0.0.1', port: 0, httpAdapter }, false);
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('GET /health answers 503 with Redis down while it is killed, 200 once it is back', async () => {
    await server.kill();
    const down = await request(app.getHttpServer()).get('/health').expect(503);
    expect(down.body.error.redis.status).toBe('down');
    // Orders and fresh reads answer 503 with Retry-After and a JSON body, never a 500 or a stack.
    const order = await request(app.getHttpServer())
      .post('/markets/BTC-USD/orders')
      .send({ side: 'buy', price: '100', quantity: '1' })
      .expect(503);
    expect(order.headers['retry-after']).toBe('1');
    expect(order.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(JSON.stringify(order.body)).not.toContain('    at ');
    const book = await request(app.getHttpServer()).get('/markets/BTC-USD/book?fresh=true').expect(503);
    expect(book.body.statusCode).toBe(503);
    await eventually(async () => {
      const metrics = await request(app.getHttpServer()).get('/metrics').expect(200);
      expect(metrics.text).toContain('redkit_redis_connection_ready{connection="default"} 0');
    });
    await server.restart();
    await eventually(() => request(app.getHttpServer()).get('/health').expect(200));
  });
});
