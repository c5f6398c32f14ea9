import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService } from '@redkit/cache';
import { ConsoleModule, type EventBatch } from '@redkit/console';
import { LockModule, LockService, type LeaderElector } from '@redkit/lock';
import { EventBus, MessagingModule, StreamConsumers, StreamProducer } from '@redkit/messaging';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { OrderBookModule, OrderBookStore } from '@redkit/orderbook';
import { RateLimitModule, RateLimiterService } from '@redkit/rate-limit';
import { RedisModule } from '@redkit/redis';
import request from 'supertest';

import {
  createHttpApp,
  eventually,
  HTTP_ADAPTERS,
  sharedAdminRedisUrl,
  sharedRedisUrl,
  sleep,
  uniquePrefix,
} from '../harness/index.js';
import { closeConsoleApp, listenConsoleApp, liveUrl, readSse } from './console-test-app.js';

/**
 * Collects the SSE events of one type from `url` until `done` says enough (or `timeoutMs`); calls
 * `opened` once the first event of any type arrived (the stream is then subscribed to everything).
 */
function collectSse(
  url: string,
  type: string,
  done: (events: unknown[]) => boolean,
  opened: () => Promise<unknown> = async () => undefined,
  timeoutMs = 10_000,
): Promise<unknown[]> {
  const events: unknown[] = [];
  let started = false;
  return readSse(
    url,
    (event, stop) => {
      if (!started) {
        started = true;
        opened().catch(stop);
      }
      if (event.type !== type || event.data === '') return;
      events.push(JSON.parse(event.data));
      if (done(events)) stop();
    },
    timeoutMs,
    () => `only ${events.length} ${type} events in ${timeoutMs} ms`,
  ).then(() => events);
}

describe.each(HTTP_ADAPTERS)('the console views on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`consoleviews${adapter}`);
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let elector: LeaderElector;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        // The admin user: the server-metrics collector needs INFO, which a least-privilege user lacks.
        RedisModule.forRoot({ url: sharedAdminRedisUrl(), keyPrefix, serverMetrics: { intervalMs: 200 } }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRoot({ consumers: { blockMs: 100 } }),
        LockModule.forRoot({ ttlMs: 30_000 }),
        CacheModule.forRoot({ ttlMs: 60_000 }),
        RateLimitModule.forRoot(),
        OrderBookModule.forRoot({ defaultSymbol: { tickSize: '0.01' } }),
        ConsoleModule.forRoot({ mode: 'operate', requestsPerSecond: 10_000, tailPerSecond: 5 }),
      ],
    }).compile();
    app = await listenConsoleApp(moduleRef, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await elector?.stop();
    await closeConsoleApp(app, keyPrefix);
  });

  it('tells the page every view this app can show', async () => {
    const { body } = await http.get('/console/api/session').expect(200);
    expect(body).toEqual({
      mode: 'operate',
      production: false,
      deny: [],
      readOnlyStreams: [],
      views: ['streams', 'locks', 'limits', 'cache', 'events', 'redis', 'orderbook'],
      auth: 'none',
      authenticated: true,
    });
  });

  it('charts throughput per stream from the sampled counters', async () => {
    await app.get(StreamConsumers).start({ stream: 'work', group: 'workers', handler: () => undefined });
    const producer = app.get(StreamProducer);
    for (let n = 0; n < 20; n += 1) await producer.publish('work', 'job.queued', { n });
    const series = await eventually(async () => {
      const { body } = await http.get('/console/api/throughput').expect(200);
      expect(body).toMatchObject({ intervalMs: 1_000, points: 300 });
      const work = body.streams.work;
      const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
      expect(sum(work.added)).toBeGreaterThan(0);
      expect(sum(work.acked)).toBeGreaterThan(0);
      return work;
    });
    expect(series.at.length).toBe(series.p50Ms.length);
    expect(series.p50Ms.some((value: number | null) => value !== null && value >= 0)).toBe(true);
  });

  it('lists held locks, semaphores, read-write locks and leaders with their fencing tokens', async () => {
    const locks = app.get(LockService);
    const lock = await locks.acquire('orders:42', { ttlMs: 30_000 });
    const permit = await locks.semaphore('pool', { limit: 3 }).acquire(2);
    const read = await locks.readWriteLock('doc').acquireRead();
    elector = locks.election('scheduler', { instance: 'node-a' });
    await elector.start();
    await eventually(() => expect(elector.isLeader()).toBe(true));
    const { body } = await http.get('/console/api/locks').expect(200);
    expect(body.cursor).toBeNull();
    const byKind = (kind: string) => body.locks.filter((info: { kind: string }) => info.kind === kind);
    expect(byKind('lock')).toEqual([
      expect.objectContaining({ resource: 'orders:42', holders: 1, waiters: 0, holder: null }),
    ]);
    expect(byKind('lock')[0].fencingToken).toBeGreaterThan(0);
    expect(byKind('lock')[0].remainingMs).toBeGreaterThan(20_000);
    expect(byKind('semaphore')).toEqual([expect.objectContaining({ resource: 'pool', holders: 1 })]);
    expect(byKind('rwlock')).toEqual([expect.objectContaining({ resource: 'doc', holders: 1 })]);
    expect(byKind('leader')).toEqual([expect.objectContaining({ resource: 'scheduler', holder: 'node-a' })]);
    await Promise.all([lock.release(), permit.release(), read.release()]);
    const after = await http.get('/console/api/locks').expect(200);
    expect(after.body.locks.map((info: { kind: string }) => info.kind)).toEqual(['leader']);
    await http.get('/console/api/locks?cursor=bogus').expect(400);
  });

  it('pages the locks with a cursor', async () => {
    const locks = app.get(LockService);
    const held = await Promise.all(
      Array.from({ length: 5 }, (_, n) => locks.acquire(`page-${n}`, { ttlMs: 30_000 })),
    );
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const { body } = await http.get(`/console/api/locks?limit=2${query}`).expect(200);
      for (const info of body.locks) seen.add(`${info.kind}:${info.resource}`);
      cursor = body.cursor;
      pages += 1;
    } while (cursor !== null && pages < 50);
    for (let n = 0; n < 5; n += 1) expect(seen).toContain(`lock:page-${n}`);
    await Promise.all(held.map((lock) => lock.release()));
  });

  it('shows decisions per limit and the top limited identities, without metric labels per identity', async () => {
    const limiter = app.get(RateLimiterService);
    const rule = { name: 'login', limit: 1, windowMs: 60_000 };
    await limiter.consume('user-7', rule);
    for (let n = 0; n < 3; n += 1) await limiter.consume('user-7', rule);
    await limiter.consume('user-8', rule);
    await limiter.consume('user-8', rule);
    const body = await eventually(async () => {
      const { body } = await http.get('/console/api/limits').expect(200);
      expect(body.history.login.limited.some((value: number) => value > 0)).toBe(true);
      return body;
    });
    expect(body.top[0]).toMatchObject({ identity: 'user-7', limit: 'login', refused: 3 });
    expect(body.top[1]).toMatchObject({ identity: 'user-8', limit: 'login', refused: 1 });
    expect(body.history.at.length).toBe(body.history.login.allowed.length);
    expect(await app.get(MetricsService).metrics()).not.toContain('user-7');
  });

  it('shows hits per namespace and evicts a key and a tag', async () => {
    const cache = app.get(CacheService);
    await cache.getOrSet('k1', async () => 'v1');
    await cache.getOrSet('k1', async () => 'v1');
    await cache.set('k2', 'v2', { tags: ['group'] });
    const { body } = await http.get('/console/api/cache').expect(200);
    expect(body.namespaces).toEqual([
      expect.objectContaining({ name: 'default', l1Hits: 1, misses: 1, hitRatio: 0.5, staleServed: 0 }),
    ]);
    expect(body.l1.entries).toBeGreaterThanOrEqual(2);
    await http.post('/console/api/cache/evict').send({ key: 'k1' }).expect(200, { evicted: true });
    // The set of k2 and the evicted k1 went out to the other instances as invalidations.
    const after = await http.get('/console/api/cache').expect(200);
    expect(after.body.namespaces[0].invalidationsSent).toBeGreaterThanOrEqual(2);
    expect(await cache.get('k1')).toBeUndefined();
    const tagged = await http.post('/console/api/cache/evict').send({ tag: 'group' }).expect(200);
    expect(tagged.body).toEqual({ evicted: true, removed: 1 });
    expect(await cache.get('k2')).toBeUndefined();
    await http.post('/console/api/cache/evict').send({ key: 'a', tag: 'b' }).expect(400);
    await http.post('/console/api/cache/evict').send({ key: 'a', namespace: 'nope' }).expect(400);
  });

  it('tails the event bus with payloads redacted and cut, capped per second on the live stream', async () => {
    await http.get('/console/api/events').expect(200);
    const bus = app.get(EventBus);
    await bus.publish('user.login', { user: 'ada', password: 'secret', notes: 'x'.repeat(5_000) });
    const { body } = await eventually(async () => {
      const response = await http.get('/console/api/events?limit=10').expect(200);
      expect(response.body.events.map((event: { type: string }) => event.type)).toContain('user.login');
      return response;
    });
    const login = body.events.find((event: { type: string }) => event.type === 'user.login');
    expect(login.truncated).toBe(true);
    expect(login.payload).toContain('"password":"[redacted]"');
    expect(login.payload).not.toContain('secret');
    expect(Buffer.byteLength(login.payload)).toBeLessThanOrEqual(2_048);

    // Thirty events in a burst, tailPerSecond 5: the live stream sends at most 5 a second, counts the rest.
    const burst = 30;
    const batches = (await collectSse(
      await liveUrl(app),
      'events',
      (events) =>
        (events as EventBatch[]).reduce((total, batch) => total + batch.events.length + batch.dropped, 0) >=
        burst,
      async () => {
        for (let n = 0; n < burst; n += 1) await bus.publish('tick.fired', { n });
      },
    )) as EventBatch[];
    const sent = batches.reduce((total, batch) => total + batch.events.length, 0);
    const dropped = batches.reduce((total, batch) => total + batch.dropped, 0);
    expect(sent + dropped).toBe(burst);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(10);
    expect(dropped).toBeGreaterThan(0);
  });

  it('shows the Redis servers from the server-metrics collector', async () => {
    const body = await eventually(async () => {
      const { body } = await http.get('/console/api/redis').expect(200);
      expect(body.available).toBe(true);
      expect(body.nodes[0]?.up).toBe(true);
      return body;
    });
    expect(body.nodes[0].usedMemoryBytes).toBeGreaterThan(0);
    expect(body.nodes[0].clients).toBeGreaterThan(0);
    expect(body.notes.length).toBeGreaterThan(0);
  });

  it('lists order books and shows one ladder, and notices a book change on the live stream', async () => {
    const books = app.get(OrderBookStore);
    await books.saveSnapshot('BTC-USD', {
      sequence: 1,
      bids: [
        { price: '100.00', quantity: '1' },
        { price: '99.50', quantity: '2' },
      ],
      asks: [{ price: '101.00', quantity: '3' }],
    });
    const symbols = await eventually(async () => {
      const { body } = await http.get('/console/api/orderbook').expect(200);
      expect(body.symbols).toContain('BTC-USD');
      return body.symbols;
    });
    expect(symbols).toEqual(['BTC-USD']);
    const { body } = await http.get('/console/api/orderbook/BTC-USD?depth=1').expect(200);
    expect(body).toMatchObject({
      symbol: 'BTC-USD',
      sequence: 1,
      bids: [{ price: '100', quantity: '1' }],
      asks: [{ price: '101', quantity: '3' }],
    });
    await http.get('/console/api/orderbook/ETH-USD').expect(404);

    const url = `${await liveUrl(app)}?orderbook=BTC-USD`;
    const [change] = (await collectSse(
      url,
      'orderbook',
      (events) => events.length > 0,
      async () => {
        // After the live stream has seen the book once (it polls the tops every second).
        await sleep(1_200);
        await books.applyDelta('BTC-USD', {
          sequence: 2,
          bids: [{ price: '100.00', quantity: '5' }],
          asks: [],
        });
      },
    )) as { symbol: string; sequence: number }[];
    expect(change).toMatchObject({ symbol: 'BTC-USD', sequence: 2 });
  });

  it('documents the JSON API in the app’s OpenAPI document, without the page', () => {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('app').build());
    const paths = Object.keys(document.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/console/api/streams',
        '/console/api/streams/{stream}/groups/{group}/pending',
        '/console/api/streams/{stream}/dead-letters/replay',
        '/console/api/locks',
        '/console/api/live',
      ]),
    );
    expect(paths.filter((path) => path === '/console' || path.includes('assets'))).toEqual([]);
    const pending = document.paths['/console/api/streams/{stream}/groups/{group}/pending']?.get;
    expect(pending?.summary).toBe('Pending entries of a group, of every priority lane, paged by id range');
    expect(pending?.tags).toEqual(['console']);
    expect(
      (pending?.parameters ?? []).map((parameter) => ('name' in parameter ? parameter.name : '')),
    ).toEqual(expect.arrayContaining(['stream', 'group', 'after', 'limit', 'consumer', 'priority']));
  });
});

describe('the Redis view when the server-metrics collector runs on a connection of its own', () => {
  const keyPrefix = uniquePrefix('consoleredis');

  async function redisBody(console: Parameters<typeof ConsoleModule.forRoot>[0]) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        RedisModule.forRoot({
          name: 'server-metrics',
          url: sharedAdminRedisUrl(),
          keyPrefix,
          serverMetrics: { intervalMs: 200 },
        }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        ConsoleModule.forRoot(console),
      ],
    }).compile();
    const app = await createHttpApp(moduleRef, 'fastify', { logger: false });
    try {
      return await eventually(async () => {
        const { body } = await request(app.getHttpServer()).get('/console/api/redis').expect(200);
        // Once the collector's first sample has landed, whichever way the view then answers.
        expect(body.available === true || /it is on for/.test(body.reason)).toBe(true);
        if (body.available) expect(body.nodes[0]?.up).toBe(true);
        return body;
      });
    } finally {
      await app.close();
    }
  }

  it('shows the one collector there is, saying whose samples they are', async () => {
    const body = await redisBody({});
    expect(body.available).toBe(true);
    expect(body.nodes[0].usedMemoryBytes).toBeGreaterThan(0);
    expect(body.notes[0]).toBe('sampled on connection "server-metrics" (the console reads "default")');
  });

  it('says why it shows nothing when the named collector is off', async () => {
    const body = await redisBody({ serverMetricsConnection: 'replica' });
    expect(body).toMatchObject({ available: false, nodes: [] });
    expect(body.reason).toBe(
      'the server-metrics collector is off for connection "replica" (it is on for "server-metrics": name one with the console\'s serverMetricsConnection option)',
    );
  });
});
