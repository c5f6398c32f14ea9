import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  MessagingOptionsError,
  StreamConsumer,
  StreamInspector,
  StreamProducer,
  type MessagePriority,
  type StreamConsumerOptions,
  type StreamMessage,
} from '@redkit/messaging';
import { MetricsService } from '@redkit/metrics';
import type { RedisConnection } from '@redkit/redis';

import { eventually, sharedTopologies } from '../harness/index.js';
import { deleteKeys, metricValue, open, sleep, uniquePrefix } from './messaging-test-kit.js';

/** N of the documented bound: the sum of the default weights (critical 8, high 4, normal 2, low 1). */
const N = 15;
const WEIGHTS: Record<MessagePriority, number> = { critical: 8, high: 4, normal: 2, low: 1 };

/**
 * Checks the bound over handler starts (`starts`, in start order): every window of N consecutive
 * starts that ends before `lane` ran out of entries (its last start) holds at least `minimum` of it.
 */
function expectBound(starts: readonly MessagePriority[], lane: MessagePriority, minimum: number): void {
  const last = starts.lastIndexOf(lane);
  let windows = 0;
  for (let end = N - 1; end <= last; end++) {
    let got = 0;
    for (let at = end - N + 1; at <= end; at++) if (starts[at] === lane) got += 1;
    if (got < minimum) {
      throw new Error(`${lane} got ${got} of the ${N} starts ${end - N + 1}..${end} (at least ${minimum})`);
    }
    windows += 1;
  }
  expect(windows).toBeGreaterThan(0);
}

describe.each(sharedTopologies)('priority lanes on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('lanes');
  let connection: RedisConnection;
  let metrics: MetricsService;
  let producer: StreamProducer;
  let inspector: StreamInspector;
  const consumers: StreamConsumer<never>[] = [];

  async function consume<T>(options: StreamConsumerOptions<T>): Promise<StreamConsumer<T>> {
    const consumer = new StreamConsumer<T>(
      connection,
      { blockMs: 200, claimIdleMs: 1_000, retryDelayMs: 20, ...options },
      { metrics },
    );
    consumers.push(consumer as unknown as StreamConsumer<never>);
    await consumer.start();
    return consumer;
  }

  /** Publishes `count` entries `{ n }` of one priority, 200 at a time. */
  async function publishMany(stream: string, priority: MessagePriority, count: number): Promise<void> {
    for (let from = 0; from < count; from += 200) {
      const batch: Promise<string>[] = [];
      for (let n = from; n < Math.min(count, from + 200); n++)
        batch.push(producer.publish(stream, 'job', { n }, { priority }));
      await Promise.all(batch);
    }
  }

  beforeAll(async () => {
    connection = await open(redis(), keyPrefix);
    metrics = new MetricsService();
    producer = new StreamProducer(connection, { source: 'test' }, metrics);
    inspector = new StreamInspector(connection);
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
  });

  afterAll(async () => {
    await deleteKeys(connection, keyPrefix);
    await connection.close();
  });

  it('does not starve low under a critical flood: at least 1 of every 15 starts while low has entries', async () => {
    await publishMany('flood', 'critical', 2_000);
    await publishMany('flood', 'low', 200);
    const starts: MessagePriority[] = [];
    await consume({
      stream: 'flood',
      group: 'g',
      concurrency: 1,
      handler: (message) => void starts.push(message.priority),
    });
    await eventually(() => expect(starts).toHaveLength(2_200), 30_000);
    expect(starts.filter((lane) => lane === 'critical')).toHaveLength(2_000);
    expect(starts.filter((lane) => lane === 'low')).toHaveLength(200);
    // The bound, for the flooded lane's share too: critical keeps at least its weight.
    expectBound(starts, 'low', 1);
    expectBound(starts, 'critical', WEIGHTS.critical);
    // Low progresses from the start: its first entries run among the first starts, not after the flood.
    expect(starts.slice(0, 150).filter((lane) => lane === 'low').length).toBeGreaterThanOrEqual(10);
    // And critical still goes first: low runs out only after most of the flood (1 in 9 with two lanes).
    expect(starts.lastIndexOf('low')).toBeGreaterThan(1_500);
    expect(
      await metricValue(
        metrics,
        'redkit_stream_lane_messages_total{stream="flood",priority="low",outcome="acked"}',
      ),
    ).toBe(200);
  });

  it('gives every lane at least its weight of each 15 starts while all four have entries', async () => {
    for (const priority of ['low', 'normal', 'high', 'critical'] as const)
      await publishMany('four', priority, 240);
    const starts: MessagePriority[] = [];
    await consume({
      stream: 'four',
      group: 'g',
      concurrency: 1,
      handler: (message) => void starts.push(message.priority),
    });
    await eventually(() => expect(starts).toHaveLength(960), 20_000);
    // Until critical runs out (the first lane to), every lane has entries: check each lane's share there.
    const allBusy = starts.slice(0, starts.lastIndexOf('critical') + 1);
    for (const priority of ['critical', 'high', 'normal', 'low'] as const) {
      expectBound([...allBusy, 'none' as MessagePriority], priority, WEIGHTS[priority]);
    }
    expect(allBusy.filter((lane) => lane === 'low').length).toBeGreaterThanOrEqual(
      Math.floor(allBusy.length / N),
    );
  });

  it('holds the bound with several handlers running at once', async () => {
    await publishMany('parallel', 'critical', 600);
    await publishMany('parallel', 'low', 60);
    const starts: MessagePriority[] = [];
    await consume({
      stream: 'parallel',
      group: 'g',
      concurrency: 4,
      handler: async (message) => {
        starts.push(message.priority);
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    await eventually(() => expect(starts).toHaveLength(660), 20_000);
    expectBound(starts, 'low', 1);
  });

  it('retries a failing entry on its own lane, so it keeps its priority', async () => {
    const attempts: Array<[MessagePriority, number]> = [];
    await producer.publish('retry', 'job', { n: 1 }, { priority: 'high' });
    await consume<{ n: number }>({
      stream: 'retry',
      group: 'g',
      handler: (message) => {
        attempts.push([message.priority, message.deliveries]);
        if (message.deliveries < 3) throw new Error('not yet');
      },
    });
    await eventually(async () => {
      const stats = await inspector.stats('retry');
      expect(stats.groups[0]).toMatchObject({ name: 'g', pending: 0, lag: 0 });
      expect(attempts).toHaveLength(3);
    });
    expect(attempts).toEqual([
      ['high', 1],
      ['high', 2],
      ['high', 3],
    ]);
    const stats = await inspector.stats('retry');
    expect(stats.lanes.map((lane) => [lane.priority, lane.length])).toEqual([
      ['critical', 0],
      ['high', 1],
      ['normal', 0],
      ['low', 0],
    ]);
    const series = (outcome: string) =>
      `redkit_stream_lane_messages_total{stream="retry",priority="high",outcome="${outcome}"}`;
    expect(await metricValue(metrics, series('retried'))).toBe(2);
    expect(await metricValue(metrics, series('acked'))).toBe(1);
    expect(await metricValue(metrics, 'redkit_stream_messages_total{stream="retry",outcome="retried"}')).toBe(
      2,
    );
  });

  it('records the priority of dead letters, whatever their lane', async () => {
    await producer.publish('dead', 'job', { lane: 'low' }, { priority: 'low' });
    await producer.publish('dead', 'job', { lane: 'normal' });
    await consume({
      stream: 'dead',
      group: 'g',
      maxDeliveries: 2,
      handler: () => {
        throw new Error('always fails');
      },
    });
    await eventually(async () => expect((await inspector.stats('dead')).deadLetterLength).toBe(2));
    const dead = await inspector.deadLetters('dead');
    expect(
      dead.map((letter) => [JSON.parse(letter.fields.data as string).lane, letter.priority]).sort(),
    ).toEqual([
      ['low', 'low'],
      ['normal', 'normal'],
    ]);
    for (const letter of dead) {
      expect(letter).toMatchObject({ group: 'g', error: 'always fails', deliveries: 2 });
      expect(letter.fields).not.toHaveProperty('priority');
    }
    // On the wire: one `priority` field, after the metadata and the original fields.
    const raw = await connection.client.xrange(
      connection.keyspace('messaging').tagged('dead', 'dead-letter'),
      '-',
      '+',
    );
    for (const [, flat] of raw) {
      expect(flat.filter((field, index) => index % 2 === 0 && field === 'priority')).toHaveLength(1);
      expect(flat.slice(0, 12).filter((_field, index) => index % 2 === 0)).toEqual([
        'originalId',
        'group',
        'consumer',
        'error',
        'deliveries',
        'failedAt',
      ]);
    }
  });

  it('reports length and pending per lane, and their totals', async () => {
    const published: Record<MessagePriority, number> = { critical: 3, high: 2, normal: 4, low: 1 };
    for (const [priority, count] of Object.entries(published))
      await publishMany('stats', priority as MessagePriority, count);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    await consume({
      stream: 'stats',
      group: 'g',
      concurrency: 10,
      handler: async () => {
        started += 1;
        await gate;
      },
    });
    await eventually(() => expect(started).toBe(10));
    const busy = await inspector.stats('stats');
    expect(busy.length).toBe(10);
    expect(busy.groups).toEqual([expect.objectContaining({ name: 'g', pending: 10, lag: 0 })]);
    expect(busy.lanes.map((lane) => [lane.priority, lane.length, lane.pending])).toEqual([
      ['critical', 3, 3],
      ['high', 2, 2],
      ['normal', 4, 4],
      ['low', 1, 1],
    ]);
    expect(busy.lanes[1]?.groups).toEqual([expect.objectContaining({ name: 'g', pending: 2, lag: 0 })]);
    release();
    await eventually(async () => expect((await inspector.stats('stats')).groups[0]?.pending).toBe(0));
  });

  it('resumes at once the entries pending to its own name when restarted, oldest first, on every lane', async () => {
    const ids = [
      await producer.publish('resume', 'job', { n: 0 }),
      await producer.publish('resume', 'job', { n: 1 }),
      await producer.publish('resume', 'job', { n: 2 }, { priority: 'high' }),
    ];
    // A previous life of 'worker-1' read them all and died before acknowledging any.
    for (const priority of ['normal', 'high'] as const) {
      const key = producer.keyOf('resume', priority);
      await connection.client.xgroup('CREATE', key, 'g', '0');
      await connection.client.xreadgroup('GROUP', 'g', 'worker-1', 'COUNT', 10, 'STREAMS', key, '>');
    }
    const seen: Array<[string, MessagePriority, number]> = [];
    await consume({
      stream: 'resume',
      group: 'g',
      consumer: 'worker-1',
      concurrency: 1,
      // Far beyond this test: only the restart path can deliver them.
      claimIdleMs: 120_000,
      handler: (message: StreamMessage) => void seen.push([message.id, message.priority, message.deliveries]),
    });
    await eventually(() => expect(seen).toHaveLength(3));
    // Higher lane first, then the normal lane's in id order; each counted as its second delivery.
    expect(seen).toEqual([
      [ids[2], 'high', 2],
      [ids[0], 'normal', 2],
      [ids[1], 'normal', 2],
    ]);
    await eventually(async () => expect((await inspector.stats('resume')).groups[0]?.pending).toBe(0));
  });

  it('runs at once the pending entries another consumer handed to it', async () => {
    const key = producer.keyOf('handed');
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await producer.publish('handed', 'job', { n }));
    await connection.client.xgroup('CREATE', key, 'g', '0');
    await connection.client.xreadgroup('GROUP', 'g', 'leaving', 'COUNT', 10, 'STREAMS', key, '>');
    // The hand-over (as a partition's new owner does it): JUSTID moves them without counting a delivery.
    await connection.client.xclaim(key, 'g', 'taking', 0, ...ids, 'JUSTID');
    const seen: Array<[string, number]> = [];
    await consume({
      stream: 'handed',
      group: 'g',
      consumer: 'taking',
      concurrency: 2,
      claimIdleMs: 120_000,
      handler: (message) => void seen.push([message.id, message.deliveries]),
    });
    await eventually(() => expect(seen).toHaveLength(5));
    expect(seen).toEqual(ids.map((id) => [id, 2]));
  });

  it('keeps the entries it holds for their turn from being taken over by another consumer', async () => {
    await publishMany('held', 'critical', 24);
    await publishMany('held', 'low', 3);
    const lowKey = producer.keyOf('held', 'low');
    const handled: string[] = [];
    await consume({
      stream: 'held',
      group: 'g',
      consumer: 'holder',
      concurrency: 1,
      claimIdleMs: 1_000,
      claimIntervalMs: 50,
      // A low entry waits for up to 9 starts here (1.35 s), longer than claimIdleMs.
      handler: async (message) => {
        // Ids are per lane: two lanes may hand out the same one.
        handled.push(`${message.priority}:${message.id}`);
        await sleep(150);
      },
    });
    const stolen: string[] = [];
    const deadline = Date.now() + 20_000;
    while (handled.length < 27 && Date.now() < deadline) {
      const [, claimed] = (await connection.client.call(
        'XAUTOCLAIM',
        lowKey,
        'g',
        'thief',
        1_000,
        '0-0',
        'COUNT',
        10,
        'JUSTID',
      )) as [string, string[]];
      stolen.push(...claimed);
      await sleep(50);
    }
    expect(stolen).toEqual([]);
    expect(new Set(handled).size).toBe(27);
  });

  it('writes the lane on entries of every lane but normal, whose entries stay as they were', async () => {
    await producer.publish('wire', 'job', { n: 1 });
    await producer.publish('wire', 'job', { n: 2 }, { priority: 'critical' });
    const [[, normal]] = (await connection.client.xrange(producer.keyOf('wire'), '-', '+')) as [
      [string, string[]],
    ];
    const [[, critical]] = (await connection.client.xrange(producer.keyOf('wire', 'critical'), '-', '+')) as [
      [string, string[]],
    ];
    expect(normal).not.toContain('priority');
    expect(critical.slice(-2)).toEqual(['priority', 'critical']);
    expect(producer.keyOf('wire', 'critical')).toBe(`${producer.keyOf('wire')}:critical`);
    expect(producer.keyOf('wire', 'normal')).toBe(producer.keyOf('wire'));
  });

  it('refuses a priority or weights it does not know, naming the option', async () => {
    await expect(
      producer.publish('wire', 'job', {}, { priority: 'urgent' as MessagePriority }),
    ).rejects.toThrow(
      new MessagingOptionsError('priority', 'must be one of critical, high, normal, low, got "urgent"'),
    );
    expect(
      () =>
        new StreamConsumer(connection, {
          stream: 's',
          group: 'g',
          handler: () => undefined,
          priorityWeights: { critical: 8, low: 0 },
        }),
    ).toThrow(/"priorityWeights\.low"/);
  });
});
