import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService } from '@redkit/cache';
import { ConsoleModule } from '@redkit/console';
import { LockModule, LockService } from '@redkit/lock';
import { MessagingModule } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { OrderBookModule, OrderBookStore } from '@redkit/orderbook';
import { RateLimitModule } from '@redkit/rate-limit';
import { RedisModule } from '@redkit/redis';
import { Redis } from 'ioredis';
import request from 'supertest';

import { createHttpApp, RedisServer } from '../harness/index.js';

const ENTRIES = 1_000_000;
const PENDING = 100_000;
const DEAD_LETTERS = 1_000;
/** The largest COUNT a console read may ask for (page limits 200, bulk actions 1000). */
const READ_BOUND = 200;
const BULK_BOUND = 1_000;

/** One command as MONITOR reported it. */
interface Seen {
  args: string[];
}

/** Appends `count` entries like StreamProducer's, in Lua batches (one round trip per 100 000). */
const FILL = `for i = 1, tonumber(ARGV[1]) do
  redis.call('XADD', KEYS[1], '*', 'type', 'order.placed', 'data', '{"n":1,"password":"x"}', 'time', '0', 'source', 'bench')
end
return 1`;

describe('the console on a stream of a million entries with 100 000 pending', () => {
  const keyPrefix = 'bounded';
  const streamKey = `${keyPrefix}:messaging:{big}:stream`;
  const deadLetterKey = `${keyPrefix}:messaging:{big}:dead-letter`;
  let server: RedisServer;
  let admin: Redis;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let pendingIds: string[] = [];
  const latencies: Array<{ endpoint: string; firstMs: number; medianMs: number }> = [];
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
    for (let added = 0; added < ENTRIES; added += 100_000) await admin.eval(FILL, 1, streamKey, 100_000);
    await admin.xgroup('CREATE', streamKey, 'billing', '0');
    await admin.xgroup('CREATE', streamKey, 'audit', '0');
    const reply = (await admin.xreadgroup(
      'GROUP',
      'billing',
      'ghost',
      'COUNT',
      PENDING,
      'STREAMS',
      streamKey,
      '>',
    )) as [string, [string, string[]][]][];
    pendingIds = (reply[0]?.[1] ?? []).map(([id]) => id);
    const pipeline = admin.pipeline();
    for (let n = 0; n < DEAD_LETTERS; n += 1) {
      pipeline.xadd(
        deadLetterKey,
        '*',
        'originalId',
        `1-${n}`,
        'group',
        'billing',
        'consumer',
        'ghost',
        'error',
        'boom',
        'deliveries',
        '5',
        'failedAt',
        '0',
        'type',
        'order.placed',
        'data',
        '{"n":1}',
      );
    }
    await pipeline.exec();

    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: server.url, keyPrefix, serverMetrics: { intervalMs: 1_000 } }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRoot(),
        LockModule.forRoot({ ttlMs: 60_000 }),
        CacheModule.forRoot({ ttlMs: 60_000 }),
        RateLimitModule.forRoot(),
        OrderBookModule.forRoot({ defaultSymbol: { tickSize: '0.01' } }),
        ConsoleModule.forRoot({ mode: 'operate', requestsPerSecond: 100_000 }),
      ],
    }).compile();
    app = await createHttpApp(moduleRef, 'fastify', { logger: false });
    http = request(app.getHttpServer());
    await app.get(LockService).acquire('orders:1', { ttlMs: 60_000 });
    await app.get(CacheService).set('k', 'v');
    await app.get(OrderBookStore).saveSnapshot('BTC-USD', {
      sequence: 1,
      bids: [{ price: '100.00', quantity: '1' }],
      asks: [{ price: '101.00', quantity: '1' }],
    });
    await admin.config('RESETSTAT');
  }, 120_000);

  afterAll(async () => {
    if (process.env.REDKIT_TEST_LOGS === '1') {
      console.log(
        latencies
          .map(({ endpoint, firstMs, medianMs }) => `${endpoint}: first ${firstMs} ms, median ${medianMs} ms`)
          .join('\n'),
      );
    }
    await app?.close();
    admin?.disconnect();
    await server?.stop();
  });

  /** Calls one endpoint five times, records its first and median latency; returns the first answer. */
  async function measure(
    endpoint: string,
    call: () => Promise<request.Response>,
    times = 5,
  ): Promise<request.Response> {
    const durations: number[] = [];
    let first: request.Response | undefined;
    for (let n = 0; n < times; n += 1) {
      const started = performance.now();
      const response = await call();
      durations.push(performance.now() - started);
      expect(response.status).toBeLessThan(300);
      first ??= response;
    }
    const sorted = [...durations].sort((left, right) => left - right);
    latencies.push({
      endpoint,
      firstMs: Math.round((durations[0] as number) * 10) / 10,
      medianMs: Math.round((sorted[Math.floor(sorted.length / 2)] as number) * 10) / 10,
    });
    return first as request.Response;
  }

  it('answers every endpoint with bounded commands only: COUNT-capped ranges, no XINFO FULL, no KEYS', async () => {
    const monitorClient = new Redis(server.url);
    const monitor = await monitorClient.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => seen.push({ args }));
    const middle = pendingIds[PENDING / 2] as string;
    const base = '/console/api';
    const list = await measure('GET streams', () => http.get(`${base}/streams`));
    expect(list.body.streams[0]).toMatchObject({
      name: 'big',
      length: ENTRIES,
      deadLetterLength: DEAD_LETTERS,
    });
    expect(list.body.streams[0].groups).toEqual([
      expect.objectContaining({ name: 'audit', pending: 0, lag: ENTRIES }),
      expect.objectContaining({ name: 'billing', pending: PENDING, lag: ENTRIES - PENDING }),
    ]);
    await measure('GET streams/big', () => http.get(`${base}/streams/big`));
    const page = await measure('GET pending (first page, 200)', () =>
      http.get(`${base}/streams/big/groups/billing/pending?limit=200`),
    );
    expect(page.body.entries).toHaveLength(200);
    const deep = await measure('GET pending (page at entry 50 000)', () =>
      http.get(`${base}/streams/big/groups/billing/pending?limit=200&after=${middle}`),
    );
    expect(deep.body.entries[0].id).toBe(pendingIds[PENDING / 2 + 1]);
    await measure('GET pending of a consumer', () =>
      http.get(`${base}/streams/big/groups/billing/pending?limit=50&consumer=ghost`),
    );
    await measure('GET dead-letters', () => http.get(`${base}/streams/big/dead-letters?limit=200`));
    for (const view of [
      'session',
      'throughput',
      'locks',
      'limits',
      'cache',
      'events',
      'redis',
      'orderbook',
      'orderbook/BTC-USD',
    ]) {
      await measure(`GET ${view}`, () => http.get(`${base}/${view}`));
    }
    const post = (path: string, body: object) => () => http.post(`${base}/${path}`).send(body);
    await measure(
      'POST ack (100 ids)',
      post('streams/big/groups/billing/pending/ack', { ids: pendingIds.slice(0, 100) }),
      1,
    );
    await measure(
      'POST claim (100 ids)',
      post('streams/big/groups/billing/pending/claim', {
        ids: pendingIds.slice(100, 200),
        consumer: 'rescuer',
      }),
      1,
    );
    await measure(
      'POST autoclaim (count 1000)',
      post('streams/big/groups/billing/pending/autoclaim', {
        consumer: 'sweeper',
        minIdleMs: 0,
        count: 1_000,
      }),
      1,
    );
    await measure(
      'POST delete pending (100 ids)',
      post('streams/big/groups/billing/pending/delete', { ids: pendingIds.slice(5_000, 5_100) }),
      1,
    );
    await measure(
      'POST replay dead letters (bulk 1000)',
      post('streams/big/dead-letters/replay', { all: { limit: 1_000 } }),
      1,
    );
    const refill = admin.pipeline();
    for (let n = 0; n < DEAD_LETTERS; n += 1)
      refill.xadd(deadLetterKey, '*', 'originalId', `2-${n}`, 'error', 'boom', 'type', 't', 'data', '{}');
    await refill.exec();
    await measure(
      'POST delete dead letters (bulk 1000)',
      post('streams/big/dead-letters/delete', { all: { limit: 1_000 } }),
      1,
    );
    await measure('POST cache evict', post('cache/evict', { key: 'k' }), 1);
    monitor.disconnect();
    monitorClient.disconnect();

    const commands = seen.map(({ args }) => args.map(String));
    const named = (name: string) => commands.filter((args) => args[0]?.toLowerCase() === name);
    const countOf = (args: string[]) => {
      const at = args.findIndex((arg) => arg.toUpperCase() === 'COUNT');
      return at === -1 ? Number.POSITIVE_INFINITY : Number(args[at + 1]);
    };
    expect(named('xrange').length).toBeGreaterThan(0);
    for (const args of [...named('xrange'), ...named('xrevrange')])
      expect(countOf(args)).toBeLessThanOrEqual(BULK_BOUND);
    // Page reads never ask for more than a page; only the bulk actions' selection reads up to 1000.
    const pageReads = named('xrange').filter((args) => countOf(args) > READ_BOUND);
    expect(
      pageReads.every((args) => args[1] === deadLetterKey && args[2] === '-' && countOf(args) <= BULK_BOUND),
    ).toBe(true);
    const pendingRanges = named('xpending').filter((args) => args.length > 3);
    expect(pendingRanges.length).toBeGreaterThan(0);
    for (const args of pendingRanges) expect(Number(args[5])).toBeLessThanOrEqual(READ_BOUND);
    for (const args of named('xinfo')) expect(args.map((arg) => arg.toUpperCase())).not.toContain('FULL');
    for (const args of named('xautoclaim')) expect(countOf(args)).toBeLessThanOrEqual(BULK_BOUND);
    for (const args of named('scan')) expect(countOf(args)).toBeLessThanOrEqual(1_000);
    for (const args of named('memory')) expect(args.map((arg) => arg.toUpperCase())).toContain('SAMPLES');
    expect(named('keys')).toEqual([]);
    expect(named('xread')).toEqual([]);
    expect(named('smembers').length).toBeLessThanOrEqual(1);

    // Every read command ran (the bounds above are on what it sent). How long each took on the
    // server is not asserted: a loaded machine stretches any script past any fixed bound; the
    // latencies are printed with REDKIT_TEST_LOGS=1.
    const stats = await admin.info('commandstats');
    for (const command of ['xinfo|stream', 'xinfo|groups', 'xpending', 'xrange']) {
      const line = new RegExp(`cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`).exec(stats);
      expect(Number(line?.[1])).toBeGreaterThan(0);
    }
  }, 60_000);
});
