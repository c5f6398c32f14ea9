// Issue 19: durable stream publishes (`durability: { replicas, timeoutMs }`: each
// StreamProducer.publish followed by WAIT) on a primary with one replica.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import {
  EventBus,
  MessagingDurabilityError,
  MessagingModule,
  MessagingOptionsError,
  partitionOf,
  partitionStreamName,
  StreamConsumer,
  StreamProducer,
  type MessagingModuleOptions,
  type PartitionedStream,
} from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import type { RedisConnection } from '@redkit/redis';
import type { Redis } from 'ioredis';

import { eventually, PlaceholderConnectionModule, RedisServer } from '../harness/index.js';
import {
  admin,
  waitCalls,
  startReplicatedPair,
  stopReplicatedPair,
  rejectedOption,
  waitUntilNoReplica,
  replicatedPairPerTest,
} from '../harness/replication.js';
import { metricValue, open, uniquePrefix } from './messaging-test-kit.js';

const DURABILITY = { replicas: 1, timeoutMs: 300 };
const DURABLE: MessagingModuleOptions = { source: 'test', durability: DURABILITY };

describe('durable stream publishes on a primary with one replica', () => {
  const keyPrefix = uniquePrefix('durable');
  let primary: RedisServer;
  let replica: RedisServer;
  let onPrimary: Redis;
  let onReplica: Redis;
  let connection: RedisConnection;
  let metrics: MetricsService;
  let durable: StreamProducer;
  let plain: StreamProducer;

  beforeAll(async () => {
    ({ primary, replica, onPrimary, onReplica } = await startReplicatedPair());
    connection = await open({ url: primary.url }, keyPrefix);
    metrics = new MetricsService();
    durable = new StreamProducer(connection, DURABLE, metrics);
    plain = new StreamProducer(connection, { source: 'test' });
  });

  afterAll(async () => {
    await connection?.close();
    await stopReplicatedPair({ primary, replica, onPrimary, onReplica });
  });

  it('refuses durability options it cannot meet, naming the option', () => {
    const option = (options: MessagingModuleOptions) =>
      rejectedOption(() => new StreamProducer(connection, options), MessagingOptionsError);
    expect(option({ durability: { replicas: 0 } })).toBe('durability.replicas');
    // Half the connection's commandTimeoutMs (1 000 ms here) at most.
    expect(option({ durability: { replicas: 1, timeoutMs: 600 } })).toBe('durability.timeoutMs');
    expect(option({ durability: { replicas: 1 } })).toBeUndefined();
  });

  it('fails MessagingModule at startup naming a bad durability option', async () => {
    const startup = (durability: unknown) =>
      Test.createTestingModule({
        imports: [
          PlaceholderConnectionModule,
          MessagingModule.forRoot({ durability } as MessagingModuleOptions),
        ],
      }).compile();
    await expect(startup({ replicas: 1.5 })).rejects.toThrow(
      /messaging option "durability\.replicas" must be a whole number/,
    );
    // The placeholder connection has the default commandTimeoutMs, 1 000 ms.
    await expect(startup({ replicas: 1, timeoutMs: 600 })).rejects.toThrow(
      /messaging option "durability\.timeoutMs" must be a whole number of milliseconds from 1 to 500/,
    );
    await expect(startup('yes')).rejects.toThrow(MessagingOptionsError);
  });

  describe('with the replica up', () => {
    it('resolves a publish to a stream, a priority lane and a partition once the replica has it', async () => {
      const orders: PartitionedStream = { name: 'orders-p', partitions: 4 };
      const published = [
        { stream: 'orders', id: await durable.publish('orders', 'order.placed', { n: 1 }) },
        {
          stream: 'orders',
          priority: 'high' as const,
          id: await durable.publish('orders', 'order.placed', { n: 2 }, { priority: 'high' }),
        },
        {
          stream: partitionStreamName(orders.name, partitionOf('account-7', orders.partitions)),
          id: await durable.publish(orders, 'order.placed', { n: 3 }, { partitionKey: 'account-7' }),
        },
      ];
      for (const { stream, priority, id } of published) {
        const entries = await onReplica.xrange(durable.keyOf(stream, priority), id, id);
        expect(entries.map(([entryId]) => entryId)).toEqual([id]);
      }
      expect(
        await metricValue(metrics, 'redkit_stream_durability_total{stream="orders",outcome="acknowledged"}'),
      ).toBe(2);
      expect(
        await metricValue(metrics, 'redkit_stream_messages_total{stream="orders",outcome="published"}'),
      ).toBe(2);
    });

    it('waits once for the publishes of one turn', async () => {
      await onPrimary.config('RESETSTAT');
      const ids = await Promise.all(
        Array.from({ length: 20 }, (_, n) => durable.publish('batched', 'order.placed', { n })),
      );
      expect(await waitCalls(onPrimary)).toBe(1);
      expect(await onReplica.xlen(durable.keyOf('batched'))).toBe(20);
      expect(new Set(ids).size).toBe(20);
    });

    it('never waits for plain producers nor for event-bus events', async () => {
      const bus = new EventBus(connection, DURABLE);
      await onPrimary.config('RESETSTAT');
      await plain.publish('plain', 'order.placed', { n: 1 });
      await bus.publish('order.placed', { n: 1 });
      expect(await waitCalls(onPrimary)).toBe(0);
      await bus.onApplicationShutdown();
    });
  });

  describe('with the replica stopped', () => {
    beforeAll(async () => {
      await replica.kill();
      await waitUntilNoReplica(onPrimary);
    });

    it('rejects a publish no replica acknowledged, typed, though the entry stands on the primary', async () => {
      const failure = await durable
        .publish('unreplicated', 'order.placed', { n: 1 })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MessagingDurabilityError);
      expect(failure).toMatchObject({
        stream: 'unreplicated',
        acknowledged: 0,
        replicas: 1,
        code: 'MESSAGING_UNREPLICATED',
        httpStatus: 503,
      });
      // Unknown, like a timeout: here it did land on the primary.
      expect(await onPrimary.xlen(durable.keyOf('unreplicated'))).toBe(1);
      await expect(
        durable.publish('unreplicated', 'order.placed', { n: 2 }, { priority: 'low' }),
      ).rejects.toBeInstanceOf(MessagingDurabilityError);
      expect(
        await metricValue(
          metrics,
          'redkit_stream_durability_total{stream="unreplicated",outcome="unacknowledged"}',
        ),
      ).toBe(2);
      expect(
        await metricValue(metrics, 'redkit_stream_messages_total{stream="unreplicated",outcome="published"}'),
      ).toBe(0);
    });

    it('still publishes at once without durability', async () => {
      await expect(plain.publish('unreplicated', 'order.placed', { n: 3 })).resolves.toMatch(/^\d+-\d+$/);
    });
  });
});

describe('durable stream publishes across the failure of the primary', () => {
  const keyPrefix = uniquePrefix('durablefailover');
  const servers = replicatedPairPerTest();

  it('keeps every acknowledged entry on the promoted replica, where a consumer group gets them all', async () => {
    const connection = await open({ url: servers.primary.url }, keyPrefix);
    servers.afterTest(() => connection.close());
    const producer = new StreamProducer(connection, DURABLE);
    const ids: string[] = [];
    for (let n = 0; n < 10; n++) ids.push(await producer.publish('jobs', 'job.created', { n }));
    // And a batch of one turn, sharing its WAIT.
    ids.push(
      ...(await Promise.all(
        Array.from({ length: 10 }, (_, n) => producer.publish('jobs', 'job.created', { n: 10 + n })),
      )),
    );

    await servers.primary.kill();
    const onReplica = admin(servers.replica);
    try {
      await onReplica.call('REPLICAOF', 'NO', 'ONE');
    } finally {
      onReplica.disconnect();
    }

    const promoted = await open({ url: servers.replica.url }, keyPrefix, 'messaging-promoted');
    servers.afterTest(() => promoted.close());
    const seen: { id: string; n: number }[] = [];
    const consumer = new StreamConsumer<{ n: number }>(promoted, {
      stream: 'jobs',
      group: 'workers',
      blockMs: 100,
      handler: (message) => void seen.push({ id: message.id, n: message.data.n }),
    });
    servers.afterTest(() => consumer.stop());
    await consumer.start();
    await eventually(() => expect(seen).toHaveLength(20));
    expect(seen.map(({ id }) => id).sort()).toEqual([...ids].sort());
    expect(seen.map(({ n }) => n).sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });
});
