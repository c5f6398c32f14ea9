import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConsoleModule } from '@redkit/console';
import { LockModule, LockService } from '@redkit/lock';
import { MessagingModule, partitionOf, StreamProducer } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { RedisConnection, RedisModule } from '@redkit/redis';
import { Cluster } from 'ioredis';
import request from 'supertest';

import {
  createHttpApp,
  deleteKeys,
  eventually,
  HTTP_ADAPTERS,
  sharedAclCredentials,
  sharedClusterNodes,
  uniquePrefix,
} from '../harness/index.js';

/** Stream names whose keys the 3-master cluster spreads over its shards (checked below). */
const STREAMS = ['orders', 'payments', 'shipping', 'refunds', 'audit', 'emails'];

describe.each(HTTP_ADAPTERS)('the console on the 3-master cluster on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`consolecluster${adapter}`);
  const key = (stream: string, part = 'stream') => `${keyPrefix}:messaging:{${stream}}:${part}`;
  let app: INestApplication;
  let admin: Cluster;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    admin = new Cluster(sharedClusterNodes());
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({
          cluster: { nodes: sharedClusterNodes() },
          ...sharedAclCredentials(),
          keyPrefix,
        }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRoot(),
        LockModule.forRoot({ ttlMs: 30_000 }),
        ConsoleModule.forRoot({ mode: 'operate', requestsPerSecond: 10_000 }),
      ],
    }).compile();
    app = await createHttpApp(moduleRef, adapter, { logger: false });
    http = request(app.getHttpServer());
    const producer = app.get(StreamProducer);
    for (const [index, stream] of STREAMS.entries()) {
      for (let n = 0; n <= index; n += 1) await producer.publish(stream, 'thing.happened', { n });
      await admin.xgroup('CREATE', key(stream), 'readers', '0');
      await admin.xreadgroup('GROUP', 'readers', 'ghost', 'COUNT', 1, 'STREAMS', key(stream), '>');
    }
  });

  afterAll(async () => {
    await app?.close();
    const connection = await RedisConnection.open('cleanup', {
      cluster: { nodes: sharedClusterNodes() },
      keyPrefix,
    });
    await deleteKeys(connection, keyPrefix);
    await connection.close();
    admin?.disconnect();
  });

  it('finds streams on every shard (SCAN of each master) and reads each where it lives', async () => {
    const shards = new Set(
      await Promise.all(
        STREAMS.map(async (stream) => admin.slots[Number(await admin.cluster('KEYSLOT', key(stream)))]?.[0]),
      ),
    );
    expect(shards.size).toBeGreaterThan(1);
    const { body } = await http.get('/console/api/streams').expect(200);
    expect(body.truncated).toBe(false);
    expect(body.streams.map((stream: { name: string }) => stream.name)).toEqual([...STREAMS].sort());
    for (const [index, stream] of STREAMS.entries()) {
      const summary = body.streams.find((candidate: { name: string }) => candidate.name === stream);
      expect(summary).toMatchObject({
        length: index + 1,
        groups: [expect.objectContaining({ name: 'readers', pending: 1, lag: index })],
      });
    }
  });

  it('shows a stream’s consumers and pending entries, and replays a dead letter, on its shard', async () => {
    const detail = await http.get('/console/api/streams/shipping').expect(200);
    expect(detail.body.consumers).toEqual([expect.objectContaining({ name: 'ghost', pending: 1 })]);
    const pending = await http.get('/console/api/streams/shipping/groups/readers/pending').expect(200);
    expect(pending.body.entries).toHaveLength(1);
    await admin.xadd(
      key('shipping', 'dead-letter'),
      '*',
      'originalId',
      '1-1',
      'group',
      'readers',
      'consumer',
      'ghost',
      'error',
      'boom',
      'deliveries',
      '5',
      'failedAt',
      String(Date.now()),
      'type',
      'thing.happened',
      'data',
      '{"n":9}',
    );
    const deadLetterId = (await admin.xrange(key('shipping', 'dead-letter'), '-', '+'))[0]?.[0];
    const replay = await http
      .post('/console/api/streams/shipping/dead-letters/replay')
      .send({ ids: [deadLetterId] })
      .expect(200);
    expect(replay.body).toMatchObject({ failed: [], remaining: 0 });
    expect(await admin.xlen(key('shipping'))).toBe(4);
  });

  it('finds held locks on every shard', async () => {
    const locks = app.get(LockService);
    const held = await Promise.all(STREAMS.map((name) => locks.acquire(`lock-${name}`, { ttlMs: 30_000 })));
    const { body } = await http.get('/console/api/locks?limit=500').expect(200);
    expect(body.locks.map((info: { resource: string }) => info.resource).sort()).toEqual(
      STREAMS.map((name) => `lock-${name}`).sort(),
    );
    await Promise.all(held.map((lock) => lock.release()));
  });

  it('finds a partitioned stream’s partitions on their shards, and replays a dead letter to its lane there', async () => {
    const tickets = { name: 'tickets', partitions: 6 };
    const keys = Array.from({ length: 24 }, (_, n) => `t-${n}`);
    const producer = app.get(StreamProducer);
    for (const partitionKey of keys) await producer.publish(tickets, 'ticket.opened', {}, { partitionKey });
    const indexes = [...new Set(keys.map((partitionKey) => partitionOf(partitionKey, 6)))].sort(
      (a, b) => a - b,
    );
    const shards = new Set(
      await Promise.all(
        indexes.map(
          async (index) => admin.slots[Number(await admin.cluster('KEYSLOT', key(`tickets#${index}`)))]?.[0],
        ),
      ),
    );
    expect(shards.size).toBeGreaterThan(1);
    // No member runs in this app: the partitions are found by SCAN, their count is not known.
    await eventually(async () => {
      const { body } = await http.get('/console/api/streams').expect(200);
      expect(body.partitioned).toEqual([{ name: 'tickets', partitions: null, listed: indexes }]);
    });

    await admin.xadd(
      key('refunds', 'dead-letter'),
      '*',
      'originalId',
      '1-1',
      'group',
      'readers',
      'consumer',
      'ghost',
      'error',
      'boom',
      'deliveries',
      '5',
      'failedAt',
      String(Date.now()),
      'type',
      'thing.happened',
      'data',
      '{"n":9}',
      'priority',
      'high',
    );
    const deadLetterId = (await admin.xrange(key('refunds', 'dead-letter'), '-', '+'))[0]?.[0];
    const replay = await http
      .post('/console/api/streams/refunds/dead-letters/replay')
      .send({ ids: [deadLetterId] })
      .expect(200);
    expect(replay.body).toMatchObject({ failed: [], remaining: 0, replayed: [{ priority: 'high' }] });
    expect(await admin.xlen(key('refunds', 'stream:high'))).toBe(1);
    const { body } = await http.get('/console/api/streams/refunds').expect(200);
    expect(body.lanes.find((lane: { priority: string }) => lane.priority === 'high')).toEqual({
      priority: 'high',
      length: 1,
      pending: 0,
    });
  });
});
