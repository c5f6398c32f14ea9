import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConsoleModule, type PendingPage } from '@redkit/console';
import { MessagingModule, StreamConsumers, StreamProducer, type StreamMessage } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { RedisModule } from '@redkit/redis';
import { Redis } from 'ioredis';
import request from 'supertest';

import {
  eventually,
  HTTP_ADAPTERS,
  sharedAdminRedisUrl,
  sharedRedisUrl,
  sleep,
  uniquePrefix,
} from '../harness/index.js';
import { closeConsoleApp, listenConsoleApp, liveUrl, readSse, type SseEvent } from './console-test-app.js';

/**
 * Reads the SSE stream at `url` until an event satisfies `wanted` (resolves with it), after calling
 * `opened` once the first event of `wanted`'s type arrived (so that what `opened` changes can only
 * show in a later one). Rejects after `timeoutMs` with what it saw.
 */
function awaitSse(
  url: string,
  type: string,
  wanted: (event: SseEvent) => boolean,
  opened: () => Promise<unknown>,
  timeoutMs = 10_000,
): Promise<SseEvent> {
  const seen: string[] = [];
  let started = false;
  let found: SseEvent | undefined;
  return readSse(
    url,
    (event, stop) => {
      if (event.data === '') return;
      seen.push(event.type);
      if (event.type !== type) return;
      if (!started) {
        started = true;
        opened().catch(stop);
      } else if (wanted(event)) {
        found = event;
        stop();
      }
    },
    timeoutMs,
    () => `no matching event within ${timeoutMs} ms; saw ${seen.join(', ')}`,
  ).then(() => found as SseEvent);
}

describe.each(HTTP_ADAPTERS)('the console streams API on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`console${adapter}`);
  const streamKey = (stream: string) => `${keyPrefix}:messaging:{${stream}}:stream`;
  const deadLetterKey = (stream: string) => `${keyPrefix}:messaging:{${stream}}:dead-letter`;
  let app: INestApplication;
  let admin: Redis;
  let http: ReturnType<typeof request>;
  /** What the payments handler saw; it fails while `healed` is false and the entry is poisoned. */
  const handled: StreamMessage<{ poison?: boolean; n: number }>[] = [];
  let healed = false;
  /** ms from the XADD to the streams event that showed it, per adapter (printed with REDKIT_TEST_LOGS=1). */
  const pushDelays: number[] = [];

  beforeAll(async () => {
    admin = new Redis(sharedAdminRedisUrl());
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRoot({
          consumers: { blockMs: 100, retryDelayMs: 10, claimIntervalMs: 60_000, maxDeliveries: 2 },
        }),
        ConsoleModule.forRoot({ mode: 'operate', requestsPerSecond: 10_000 }),
      ],
    }).compile();
    app = await listenConsoleApp(moduleRef, adapter);
    http = request(app.getHttpServer());
    const producer = app.get(StreamProducer);
    for (let n = 0; n < 10; n += 1) {
      await producer.publish('orders', 'order.placed', { n, card: { number: '4111', password: 'hunter2' } });
    }
    // A group whose consumer took six entries and died: they stay pending to "ghost".
    await admin.xgroup('CREATE', streamKey('orders'), 'audit', '0');
    await admin.xreadgroup('GROUP', 'audit', 'ghost', 'COUNT', 6, 'STREAMS', streamKey('orders'), '>');
    await app.get(StreamConsumers).start<{ poison?: boolean; n: number }>({
      stream: 'payments',
      group: 'ledger',
      handler: (message) => {
        if (message.data.poison && !healed) throw new Error('poisoned entry');
        handled.push(message);
      },
    });
  });

  afterAll(async () => {
    if (process.env.REDKIT_TEST_LOGS === '1')
      console.log(`${adapter}: streams push after ${pushDelays.join(', ')} ms`);
    await closeConsoleApp(app, keyPrefix);
    admin?.disconnect();
  });

  it('lists every stream with its groups, lag and pending counts', async () => {
    const { body } = await http.get('/console/api/streams').expect(200);
    expect(body.truncated).toBe(false);
    const orders = body.streams.find((stream: { name: string }) => stream.name === 'orders');
    expect(orders).toMatchObject({
      name: 'orders',
      length: 10,
      entriesAdded: 10,
      deadLetterLength: 0,
      groups: [expect.objectContaining({ name: 'audit', consumers: 1, pending: 6, lag: 4, entriesRead: 6 })],
    });
    expect(orders.firstId).toMatch(/^\d+-\d+$/);
    expect(orders.groups[0].lagAgeMs).toBeGreaterThanOrEqual(0);
    expect(body.streams.map((stream: { name: string }) => stream.name)).toContain('payments');
  });

  it('shows one stream with its consumers, and 404 for a stream that does not exist', async () => {
    const { body } = await http.get('/console/api/streams/orders').expect(200);
    expect(body.consumers).toEqual([
      expect.objectContaining({ group: 'audit', name: 'ghost', pending: 6, dead: false }),
    ]);
    await http.get('/console/api/streams/nowhere').expect(404);
  });

  it('pages pending entries by id range, with redacted payloads', async () => {
    const first = (await http.get('/console/api/streams/orders/groups/audit/pending?limit=4').expect(200))
      .body as PendingPage;
    expect(first.entries).toHaveLength(4);
    expect(first.next).toBe(first.entries[3]?.id);
    expect(first.entries[0]).toMatchObject({ consumer: 'ghost', deliveries: 1, truncated: false });
    const data = JSON.parse(first.entries[0]?.fields?.data ?? '{}');
    expect(data.card).toEqual({ number: '4111', password: '[redacted]' });
    const second = (
      await http
        .get(`/console/api/streams/orders/groups/audit/pending?limit=4&after=${first.next}`)
        .expect(200)
    ).body as PendingPage;
    expect(second.entries).toHaveLength(2);
    expect(second.next).toBeNull();
    expect(new Set([...first.entries, ...second.entries].map((entry) => entry.id)).size).toBe(6);
    await http.get('/console/api/streams/orders/groups/audit/pending?limit=500').expect(400);
    await http.get('/console/api/streams/orders/groups/nogroup/pending').expect(404);
  });

  it('claims entries to another consumer, sweeps with a bound, acks and deletes', async () => {
    const pending = (await http.get('/console/api/streams/orders/groups/audit/pending').expect(200))
      .body as PendingPage;
    const ids = pending.entries.map((entry) => entry.id);
    const claimed = await http
      .post('/console/api/streams/orders/groups/audit/pending/claim')
      .send({ ids: ids.slice(0, 2), consumer: 'rescuer' })
      .expect(200);
    expect(claimed.body).toEqual({ claimed: ids.slice(0, 2) });
    const owners = (await admin.xpending(streamKey('orders'), 'audit', '-', '+', 10)) as [string, string][];
    expect(owners.filter(([, consumer]) => consumer === 'rescuer').map(([id]) => id)).toEqual(
      ids.slice(0, 2),
    );

    const swept = await http
      .post('/console/api/streams/orders/groups/audit/pending/autoclaim')
      .send({ consumer: 'sweeper', minIdleMs: 0, count: 3 })
      .expect(200);
    expect(swept.body).toMatchObject({ claimed: 3, deleted: [] });
    expect(swept.body.next).toMatch(/^\d+-\d+$/);
    await http
      .post('/console/api/streams/orders/groups/audit/pending/autoclaim')
      .send({ consumer: 'sweeper', minIdleMs: 0, count: 5_000 })
      .expect(400);

    const acked = await http
      .post('/console/api/streams/orders/groups/audit/pending/ack')
      .send({ ids: ids.slice(0, 3) })
      .expect(200);
    expect(acked.body).toEqual({ acked: 3 });
    const deleted = await http
      .post('/console/api/streams/orders/groups/audit/pending/delete')
      .send({ ids: [ids[5]] })
      .expect(200);
    expect(deleted.body).toEqual({ deleted: 1 });
    expect(await admin.xlen(streamKey('orders'))).toBe(9);
    const summary = await admin.xpending(streamKey('orders'), 'audit');
    expect(summary[0]).toBe(2);
  });

  it('refuses bad input with a 400 naming the field', async () => {
    const { body } = await http
      .post('/console/api/streams/orders/groups/audit/pending/ack')
      .send({ ids: ['not-an-id'] })
      .expect(400);
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.message).toMatch(/^ids\[0\]: /);
    // A name no stream can have: longer than a key part may be. (Fastify refuses a parameter past
    // its maxParamLength, 100 by default, before the route runs: 414.)
    const long = await http.get(
      `/console/api/streams/${encodeURIComponent('é'.repeat(300))}/groups/audit/pending`,
    );
    if (adapter === 'fastify') expect(long.status).toBe(414);
    else {
      expect(long.status).toBe(400);
      expect(long.body.message).toMatch(/^stream: key part is 600 bytes/);
    }
  });

  it('dead-letters a poisoned entry, replays it to its stream, where it is delivered again', async () => {
    const producer = app.get(StreamProducer);
    await producer.publish('payments', 'payment.due', { n: 1, poison: true });
    const page = await eventually(async () => {
      const { body } = await http.get('/console/api/streams/payments/dead-letters').expect(200);
      expect(body.length).toBe(1);
      return body;
    });
    expect(page.entries[0]).toMatchObject({
      group: 'ledger',
      error: expect.stringContaining('poisoned entry'),
      deliveries: 2,
    });
    expect(page.entries[0].fields.type).toBe('payment.due');
    expect(new Date(page.entries[0].failedAt).getTime()).toBeGreaterThan(0);
    healed = true;
    const replay = await http
      .post('/console/api/streams/payments/dead-letters/replay')
      .send({ ids: [page.entries[0].id, '1-1'] })
      .expect(200);
    expect(replay.body.replayed).toEqual([
      { id: page.entries[0].id, newId: expect.stringMatching(/^\d+-\d+$/) },
    ]);
    expect(replay.body.failed).toEqual([{ id: '1-1', reason: 'not found' }]);
    expect(replay.body.remaining).toBe(0);
    await eventually(() =>
      expect(handled.map((message) => message.data)).toContainEqual({ n: 1, poison: true }),
    );
    expect(await admin.xlen(deadLetterKey('payments'))).toBe(0);
  });

  it('deletes dead letters in bulk with a bound, and reports what remains', async () => {
    for (let n = 0; n < 3; n += 1) {
      await admin.xadd(
        deadLetterKey('payments'),
        '*',
        'originalId',
        `1-${n}`,
        'group',
        'ledger',
        'consumer',
        'c',
        'error',
        'e',
        'deliveries',
        '2',
        'failedAt',
        String(Date.now()),
        'type',
        't',
        'data',
        '{}',
      );
    }
    const { body } = await http
      .post('/console/api/streams/payments/dead-letters/delete')
      .send({ all: { limit: 2 } })
      .expect(200);
    expect(body).toEqual({ deleted: 2, remaining: 1 });
    await http
      .post('/console/api/streams/payments/dead-letters/delete')
      .send({ all: { limit: 5_000 } })
      .expect(400);
    await http.post('/console/api/streams/payments/dead-letters/delete').send({}).expect(400);
  });

  it('pushes a streams event on the live stream soon after an entry is added', async () => {
    const url = await liveUrl(app);
    const before = await admin.xlen(streamKey('orders'));
    const started = Date.now();
    let addedAt = 0;
    const event = await awaitSse(
      url,
      'streams',
      (candidate) =>
        JSON.parse(candidate.data).streams.some(
          (stream: { name: string; length: number }) =>
            stream.name === 'orders' && stream.length === before + 1,
        ),
      async () => {
        // Past the one-event-a-second window of the event just received: a quiet stream's change.
        await sleep(1_100);
        addedAt = Date.now();
        await app.get(StreamProducer).publish('orders', 'order.placed', { n: 99 });
      },
    );
    expect(event.type).toBe('streams');
    expect(addedAt).toBeGreaterThanOrEqual(started);
    // Timing is reported, not asserted (see the report): at most a tick of the 1 s poll.
    pushDelays.push(Date.now() - addedAt);
  });
});
