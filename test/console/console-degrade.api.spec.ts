import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConsoleModule } from '@redkit/console';
import { MessagingModule, StreamProducer } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { RedisModule } from '@redkit/redis';
import { Redis } from 'ioredis';
import request from 'supertest';

import { captureLogs, createHttpApp, eventually, HTTP_ADAPTERS, RedisServer } from '../harness/index.js';

describe.each(HTTP_ADAPTERS)('the console while Redis is slow or gone, on %s', (adapter) => {
  const keyPrefix = 'degrade';
  const streamKey = `${keyPrefix}:messaging:{orders}:stream`;
  let server: RedisServer;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let ids: string[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: server.url, keyPrefix, commandTimeoutMs: 300 }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRoot(),
        ConsoleModule.forRoot({ mode: 'operate', requestsPerSecond: 10_000 }),
      ],
    }).compile();
    app = await createHttpApp(moduleRef, adapter, { logger: false });
    http = request(app.getHttpServer());
    const producer = app.get(StreamProducer);
    for (let n = 0; n < 3; n += 1) await producer.publish('orders', 'order.placed', { n });
    const admin = new Redis(server.url);
    await admin.xgroup('CREATE', streamKey, 'billing', '0');
    const reply = (await admin.xreadgroup(
      'GROUP',
      'billing',
      'ghost',
      'COUNT',
      3,
      'STREAMS',
      streamKey,
      '>',
    )) as [string, [string, string[]][]][];
    ids = reply[0]?.[1].map(([id]) => id) ?? [];
    admin.disconnect();
  });

  afterAll(async () => {
    if (server?.running) server.resume();
    await app?.close();
    await server?.stop();
  });

  it('answers 503 saying Redis did not answer while it is frozen, and serves again once it is back', async () => {
    await http.get('/console/api/streams/orders').expect(200);
    server.pause();
    try {
      const detail = await http.get('/console/api/streams/orders/groups/billing/pending').expect(503);
      expect(detail.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(detail.body.message).toMatch(
        /^Redis did not answer the pending entries of "orders"\/"billing": .*timed out/i,
      );
      const ack = await http
        .post('/console/api/streams/orders/groups/billing/pending/ack')
        .send({ ids: ids.slice(0, 1) })
        .expect(503);
      expect(ack.body.message).toMatch(/^Redis did not answer the ack/);
      // Pages that need no Redis keep answering.
      await http.get('/console/api/session').expect(200);
      await http.get('/console').expect(200);
    } finally {
      server.resume();
    }
    await eventually(() => http.get('/console/api/streams/orders/groups/billing/pending').expect(200));
  });

  it('answers 503 at once while the server is down', async () => {
    await server.kill();
    const { body } = await http.get('/console/api/streams/orders/dead-letters').expect(503);
    expect(body.message).toMatch(/^Redis did not answer the dead letters of "orders": /);
    await http.get('/console/api/redis').expect(200);
  });
});

describe.each(HTTP_ADAPTERS)('API-key sessions while Redis is frozen, on %s', (adapter) => {
  const apiKey = 'correct-horse-battery-staple';
  let server: RedisServer;
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    server = await RedisServer.start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: server.url, keyPrefix: 'frozen-sessions', commandTimeoutMs: 300 }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        ConsoleModule.forRoot({ apiKey, requestsPerSecond: 10_000 }),
      ],
    }).compile();
    app = await createHttpApp(moduleRef, adapter, { logger: false });
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    if (server?.running) server.resume();
    await app?.close();
    await server?.stop();
  });

  it('accepts a session on its signature, refuses one it signed out itself, and says the logout did not reach Redis', async () => {
    const login = await http
      .post('/console/api/login')
      .set('Content-Type', 'application/json')
      .send({ apiKey })
      .expect(204);
    const cookie = String(([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]).split(
      ';',
    )[0] as string;
    server.pause();
    try {
      const logs = await captureLogs(async () => {
        const session = await http.get('/console/api/session').set('Cookie', cookie).expect(200);
        expect(session.body).toMatchObject({ authenticated: true });
      });
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          context: 'Console',
          message: expect.stringMatching(
            /^cannot tell whether console sessions were signed out on other instances \(.*timed out/i,
          ),
        }),
      );
      const logout = await http
        .post('/console/api/logout')
        .set('Cookie', cookie)
        .set('Content-Type', 'application/json')
        .send({})
        .expect(503);
      expect(logout.body.message).toMatch(/^Redis did not answer the logout: /);
      // The browser's cookie is cleared all the same, and this instance refuses the session.
      expect(String(([] as string[]).concat(logout.headers['set-cookie'] ?? [])[0])).toContain('Max-Age=0');
      const session = await http.get('/console/api/session').set('Cookie', cookie).expect(200);
      expect(session.body).toMatchObject({ authenticated: false });
    } finally {
      server.resume();
    }
  });
});
