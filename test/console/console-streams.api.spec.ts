import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConsoleModule, type PendingPage, type StreamsBody, type StreamSummary } from '@redkit/console';
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
  const laneKey = (stream: string, lane: 'critical' | 'high' | 'normal' | 'low') =>
    lane === 'normal' ? streamKey(stream) : `${streamKey(stream)}:${lane}`;
  const deadLetterKey = (stream: string) => `${keyPrefix}:messaging:{${stream}}:dead-letter`;
  let app: INestApplication;
  let admin: Redis;
  let http: ReturnType<typeof request>;
  /** What the payments handler saw; it fails while `healed` is false and the entry is poisoned. */
  const handled: StreamMessage<{ poison?: boolean; n: number }>[] = [];
  let healed = false;
  /** What the escalations handler saw; it fails every entry until `escalationsHealed`. */
  const escalations: StreamMessage<{ n: number }>[] = [];
  let escalationsHealed = false;
  /** What the member of the partitioned stream `accounts` handled. */
  const posted: StreamMessage<{ account: string }>[] = [];
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
        ConsoleModule.forRoot({
          mode: 'operate',
          requestsPerSecond: 10_000,
          streams: { readOnly: ['accounts'] },
        }),
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
    await app.get(StreamConsumers).start<{ n: number }>({
      stream: 'escalations',
      group: 'oncall',
      handler: (message) => {
        if (!escalationsHealed) throw new Error('pager down');
        escalations.push(message);
      },
    });
    // alerts: six entries over the four lanes, with ids chosen so that 5-1 is on two lanes, all
    // delivered to "ghost" of group "pager" and left pending.
    const alerts: Array<['critical' | 'high' | 'normal' | 'low', string]> = [
      ['normal', '1-1'],
      ['critical', '2-1'],
      ['high', '3-1'],
      ['low', '4-1'],
      ['high', '5-1'],
      ['normal', '5-1'],
    ];
    for (const [lane, id] of alerts) {
      const priority = lane === 'normal' ? [] : ['priority', lane];
      await admin.xadd(
        laneKey('alerts', lane),
        id,
        'type',
        'alert.raised',
        'data',
        `{"id":"${id}"}`,
        ...priority,
      );
    }
    const lanes = ['critical', 'high', 'normal', 'low'] as const;
    for (const lane of lanes) await admin.xgroup('CREATE', laneKey('alerts', lane), 'pager', '0');
    await admin.xreadgroup(
      'GROUP',
      'pager',
      'ghost',
      'COUNT',
      10,
      'STREAMS',
      ...lanes.map((lane) => laneKey('alerts', lane)),
      ...lanes.map(() => '>'),
    );
    await app.get(StreamConsumers).startPartitioned<{ account: string }>({
      stream: { name: 'accounts', partitions: 3 },
      group: 'posting',
      consumer: 'member-a',
      leaseMs: 2_000,
      heartbeatMs: 200,
      handler: (message) => {
        posted.push(message);
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
    expect(first.next).toBe(`${first.entries[3]?.id}:normal`);
    expect(first.entries[0]).toMatchObject({
      consumer: 'ghost',
      priority: 'normal',
      deliveries: 1,
      truncated: false,
    });
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
    // The cursor names the lane to go on in: the sweep stopped in the normal one, the only one read.
    expect(swept.body.next).toMatch(/^\d+-\d+:normal$/);
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
      { id: page.entries[0].id, newId: expect.stringMatching(/^\d+-\d+$/), priority: 'normal' },
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

  it('reports each priority lane’s length and pending beside the totals over the lanes', async () => {
    const { body } = (await http.get('/console/api/streams').expect(200)) as { body: StreamsBody };
    const alerts = body.streams.find((stream) => stream.name === 'alerts');
    expect(alerts).toMatchObject({
      length: 6,
      firstId: '1-1',
      lastId: '5-1',
      entriesAdded: 6,
      partition: null,
      lanes: [
        { priority: 'critical', length: 1, pending: 1 },
        { priority: 'high', length: 2, pending: 2 },
        { priority: 'normal', length: 2, pending: 2 },
        { priority: 'low', length: 1, pending: 1 },
      ],
      groups: [
        expect.objectContaining({
          name: 'pager',
          pending: 6,
          lag: 0,
          entriesRead: 6,
          lastDeliveredId: '5-1',
          lanes: [
            { priority: 'critical', pending: 1, lag: 0 },
            { priority: 'high', pending: 2, lag: 0 },
            { priority: 'normal', pending: 2, lag: 0 },
            { priority: 'low', pending: 1, lag: 0 },
          ],
        }),
      ],
    });
    // A stream read only on its normal lane lists that lane alone under its groups.
    const orders = body.streams.find((stream) => stream.name === 'orders');
    expect(orders?.groups[0]?.lanes.map((lane) => lane.priority)).toEqual(['normal']);
    expect(orders?.lanes.map((lane) => lane.length)).toEqual([0, 0, orders?.length, 0]);
    const detail = await http.get('/console/api/streams/alerts').expect(200);
    expect(detail.body.consumers).toEqual([
      expect.objectContaining({ group: 'pager', name: 'ghost', pending: 6, dead: false }),
    ]);
    expect(detail.body.lanes).toEqual(alerts?.lanes);
  });

  it('pages the pending entries of every lane by id, each saying its lane, one id on two lanes included', async () => {
    const path = '/console/api/streams/alerts/groups/pager/pending';
    const first = (await http.get(`${path}?limit=3`).expect(200)).body as PendingPage;
    expect(first.entries.map(({ id, priority }) => `${id} ${priority}`)).toEqual([
      '1-1 normal',
      '2-1 critical',
      '3-1 high',
    ]);
    expect(first.next).toBe('3-1:high');
    expect(JSON.parse(first.entries[1]?.fields?.data ?? '{}')).toEqual({ id: '2-1' });
    const second = (await http.get(`${path}?limit=3&after=${first.next}`).expect(200)).body as PendingPage;
    expect(second.entries.map(({ id, priority }) => `${id} ${priority}`)).toEqual([
      '4-1 low',
      '5-1 high',
      '5-1 normal',
    ]);
    expect(second.next).toBeNull();
    // A cursor between the two entries of 5-1 goes on with the lower lane's.
    const tie = (await http.get(`${path}?after=5-1:high`).expect(200)).body as PendingPage;
    expect(tie.entries.map(({ id, priority }) => `${id} ${priority}`)).toEqual(['5-1 normal']);
    const high = (await http.get(`${path}?priority=high`).expect(200)).body as PendingPage;
    expect(high.entries.map(({ id, priority }) => `${id} ${priority}`)).toEqual(['3-1 high', '5-1 high']);
    expect((await http.get(`${path}?priority=urgent`).expect(400)).body.message).toMatch(/^priority: /);
    expect((await http.get(`${path}?after=5-1:urgent`).expect(400)).body.message).toMatch(/^after: /);
  });

  it('acks, claims and deletes on the lane named, never the same id on another lane', async () => {
    const path = '/console/api/streams/alerts/groups/pager/pending';
    const owners = async (lane: 'critical' | 'high' | 'normal' | 'low') =>
      ((await admin.xpending(laneKey('alerts', lane), 'pager', '-', '+', 10)) as [string, string][]).map(
        ([id, consumer]) => `${id} ${consumer}`,
      );
    const claimed = await http
      .post(`${path}/claim`)
      .send({ ids: ['5-1'], priority: 'high', consumer: 'rescuer' })
      .expect(200);
    expect(claimed.body).toEqual({ claimed: ['5-1'] });
    expect(await owners('high')).toEqual(['3-1 ghost', '5-1 rescuer']);
    expect(await owners('normal')).toEqual(['1-1 ghost', '5-1 ghost']);

    const acked = await http
      .post(`${path}/ack`)
      .send({ ids: ['5-1'], priority: 'high' })
      .expect(200);
    expect(acked.body).toEqual({ acked: 1 });
    expect(await owners('high')).toEqual(['3-1 ghost']);
    expect(await owners('normal')).toEqual(['1-1 ghost', '5-1 ghost']);
    // Without a lane an action is on the normal one, where 2-1 is not.
    expect(
      (
        await http
          .post(`${path}/ack`)
          .send({ ids: ['2-1'] })
          .expect(200)
      ).body,
    ).toEqual({ acked: 0 });
    await http
      .post(`${path}/ack`)
      .send({ ids: ['2-1'], priority: 'urgent' })
      .expect(400);

    const deleted = await http
      .post(`${path}/delete`)
      .send({ ids: ['4-1'], priority: 'low' })
      .expect(200);
    expect(deleted.body).toEqual({ deleted: 1 });
    expect(await admin.xlen(laneKey('alerts', 'low'))).toBe(0);
    expect(await admin.xlen(laneKey('alerts', 'normal'))).toBe(2);

    // A sweep goes through the lanes highest first; its cursor names the lane to go on in.
    const sweep = await http
      .post(`${path}/autoclaim`)
      .send({ consumer: 'sweeper', minIdleMs: 0, count: 2 })
      .expect(200);
    expect(sweep.body).toEqual({ claimed: 2, next: '0-0:normal', deleted: [] });
    expect(await owners('critical')).toEqual(['2-1 sweeper']);
    expect(await owners('high')).toEqual(['3-1 sweeper']);
    const rest = await http
      .post(`${path}/autoclaim`)
      .send({ consumer: 'sweeper', minIdleMs: 0, count: 10, start: sweep.body.next })
      .expect(200);
    expect(rest.body).toEqual({ claimed: 2, next: '0-0', deleted: [] });
    expect(await owners('normal')).toEqual(['1-1 sweeper', '5-1 sweeper']);
    await http
      .post(`${path}/autoclaim`)
      .send({ consumer: 'sweeper', minIdleMs: 0, count: 10, priority: 'low', start: '0-0:high' })
      .expect(400);
  });

  it('replays a dead letter to the lane it failed on, and one from before lanes to the normal lane', async () => {
    const producer = app.get(StreamProducer);
    await producer.publish('escalations', 'alert.escalated', { n: 1 }, { priority: 'high' });
    const page = await eventually(async () => {
      const { body } = await http.get('/console/api/streams/escalations/dead-letters').expect(200);
      expect(body.length).toBe(1);
      return body;
    });
    expect(page.entries[0]).toMatchObject({ group: 'oncall', priority: 'high', deliveries: 2 });
    expect(page.entries[0].fields).toMatchObject({ type: 'alert.escalated' });
    expect(page.entries[0].fields.priority).toBeUndefined();
    // A dead letter written before there were lanes: no priority field.
    const older = await admin.xadd(
      deadLetterKey('escalations'),
      '*',
      'originalId',
      '1-1',
      'group',
      'oncall',
      'consumer',
      'c',
      'error',
      'e',
      'deliveries',
      '2',
      'failedAt',
      String(Date.now()),
      'type',
      'alert.escalated',
      'data',
      '{"n":2}',
    );
    const listed = (await http.get('/console/api/streams/escalations/dead-letters').expect(200)).body;
    expect(listed.entries[1]).toMatchObject({ id: older, priority: 'normal' });

    escalationsHealed = true;
    const replay = await http
      .post('/console/api/streams/escalations/dead-letters/replay')
      .send({ ids: [page.entries[0].id, older] })
      .expect(200);
    expect(replay.body).toMatchObject({ failed: [], remaining: 0 });
    const [onHigh, onNormal] = replay.body.replayed as { id: string; newId: string; priority: string }[];
    expect(onHigh).toMatchObject({ id: page.entries[0].id, priority: 'high' });
    expect(onNormal).toMatchObject({ id: older, priority: 'normal' });
    const [replayed] = await admin.xrange(laneKey('escalations', 'high'), onHigh?.newId ?? '', '+');
    expect(replayed?.[1]).toEqual(expect.arrayContaining(['priority', 'high']));
    expect((await admin.xrange(laneKey('escalations', 'normal'), onNormal?.newId ?? '', '+'))[0]?.[0]).toBe(
      onNormal?.newId,
    );
    await eventually(() =>
      expect(escalations.map(({ id, priority }) => `${id} ${priority}`).sort()).toEqual(
        [`${onHigh?.newId} high`, `${onNormal?.newId} normal`].sort(),
      ),
    );
  });

  it('lists a partitioned stream’s partitions under it, with its members among their consumers', async () => {
    const producer = app.get(StreamProducer);
    const stream = { name: 'accounts', partitions: 3 };
    for (const account of ['a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6'])
      await producer.publish(stream, 'account.posted', { account }, { partitionKey: account });
    await eventually(() => expect(posted).toHaveLength(6));
    const { body } = (await http.get('/console/api/streams').expect(200)) as { body: StreamsBody };
    expect(body.partitioned).toEqual([{ name: 'accounts', partitions: 3, listed: [0, 1, 2] }]);
    const partitions = body.streams.filter((summary: StreamSummary) => summary.partition?.of === 'accounts');
    expect(partitions.map(({ name, partition }) => [name, partition])).toEqual([
      ['accounts#0', { of: 'accounts', index: 0, partitions: 3 }],
      ['accounts#1', { of: 'accounts', index: 1, partitions: 3 }],
      ['accounts#2', { of: 'accounts', index: 2, partitions: 3 }],
    ]);
    expect(partitions.reduce((sum, partition) => sum + partition.length, 0)).toBe(6);
    for (const partition of partitions) {
      expect(partition.groups.map((group) => group.name)).toEqual(['posting']);
      const detail = await http.get(`/console/api/streams/${encodeURIComponent(partition.name)}`).expect(200);
      expect(detail.body.partition).toEqual({
        of: 'accounts',
        index: partition.partition?.index,
        partitions: 3,
      });
      expect(detail.body.consumers).toEqual([
        expect.objectContaining({ group: 'posting', name: 'member-a', pending: 0 }),
      ]);
    }
    // A partition is read-only with its partitioned stream.
    const refused = await http
      .post(`/console/api/streams/${encodeURIComponent('accounts#1')}/groups/posting/pending/ack`)
      .send({ ids: ['1-1'] })
      .expect(403);
    expect(refused.body.message).toBe('stream "accounts#1" is read-only');
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
