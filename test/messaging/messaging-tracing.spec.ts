import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  EventBus,
  MessagingModule,
  OnEvent,
  StreamConsumer,
  StreamHandler,
  StreamProducer,
  type EventEnvelope,
  type StreamConsumerOptions,
  type StreamMessage,
} from '@redkit/messaging';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import {
  currentCorrelationId,
  RedisModule,
  runWithCorrelation,
  tracingEnabled,
  type RedisConnection,
  type RedisModuleOptions,
} from '@redkit/redis';

import {
  captureLogs,
  eventually,
  sharedAclCredentials,
  sharedClusterNodes,
  sharedRedisUrl,
} from '../harness/index.js';
import { InMemoryTracing, parentOf } from '../harness/in-memory-tracing.js';
import { deleteKeys, open, uniquePrefix } from './messaging-test-kit.js';

const tracing = new InMemoryTracing();
const { exporter } = tracing;
const testTracer = trace.getTracer('redkit-messaging-tracing-spec');

const keyPrefix = uniquePrefix('trace');
const standalone = (): RedisModuleOptions => ({ url: sharedRedisUrl() });
const cluster = (): RedisModuleOptions => ({
  cluster: { nodes: sharedClusterNodes() },
  ...sharedAclCredentials(),
});

const connections: RedisConnection[] = [];
const consumers: StreamConsumer<never>[] = [];
const buses: EventBus[] = [];

async function connect(redis: RedisModuleOptions): Promise<RedisConnection> {
  const connection = await open(redis, keyPrefix);
  connections.push(connection);
  return connection;
}

async function consume<T>(
  connection: RedisConnection,
  options: StreamConsumerOptions<T>,
): Promise<StreamConsumer<T>> {
  const consumer = new StreamConsumer<T>(
    connection,
    { blockMs: 200, claimIdleMs: 5_000, retryDelayMs: 10, ...options },
    { metrics: new MetricsService() },
  );
  consumers.push(consumer as unknown as StreamConsumer<never>);
  await consumer.start();
  return consumer;
}

function newBus(connection: RedisConnection): EventBus {
  const bus = new EventBus(connection, { source: 'tracing-test' }, new MetricsService());
  buses.push(bus);
  return bus;
}

const spans = (name: string): ReadableSpan[] => tracing.spans(name);
const only = (name: string): ReadableSpan => tracing.only(name);

function traceparentOf(span: ReadableSpan): string {
  return `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
}

/** The fields of the one entry of a stream's `normal` lane, as Redis holds them. */
async function entryFields(connection: RedisConnection, stream: string): Promise<Record<string, string>> {
  const key = new StreamProducer(connection).keyOf(stream);
  const entries = await connection.client.xrange(key, '-', '+');
  expect(entries).toHaveLength(1);
  const flat = (entries[0] as [string, string[]])[1];
  const fields: Record<string, string> = {};
  for (let index = 0; index + 1 < flat.length; index += 2)
    fields[flat[index] as string] = flat[index + 1] as string;
  return fields;
}

/** Runs `fn` under a root span of the test's own. */
function underRoot<T>(fn: () => Promise<T>): Promise<T> {
  return testTracer.startActiveSpan('test root', async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

afterAll(async () => {
  for (const connection of connections) {
    await deleteKeys(connection, keyPrefix);
    await connection.close();
  }
});

describe('without a tracer provider', () => {
  let connection: RedisConnection;

  beforeAll(async () => {
    connection = await connect(standalone());
  });

  it('writes the current correlation id and no trace fields, and restores it in stream and event handlers', async () => {
    expect(tracingEnabled()).toBe(false);
    const producer = new StreamProducer(connection, { source: 'tracing-test' });
    const bus = newBus(connection);
    const seen: Array<{ where: string; id: string | undefined; carried: string | undefined }> = [];
    await bus.subscribe('plain.*', (event) => {
      seen.push({ where: event.type, id: currentCorrelationId(), carried: event.correlationId });
    });
    await runWithCorrelation('order-flow-1', async () => {
      await producer.publish('plain-orders', 'order.placed', { n: 1 });
      await bus.publish('plain.given', {});
    });
    // Published outside any request: nothing to restore, so the handler runs without an id.
    const bare = await bus.publish('plain.bare', {});
    await consume<{ n: number }>(connection, {
      stream: 'plain-orders',
      group: 'g',
      handler: (message) => {
        seen.push({ where: 'stream', id: currentCorrelationId(), carried: message.correlationId });
      },
    });
    await eventually(() => expect(seen).toHaveLength(3));
    expect(seen).toEqual(
      expect.arrayContaining([
        { where: 'stream', id: 'order-flow-1', carried: 'order-flow-1' },
        { where: 'plain.given', id: 'order-flow-1', carried: 'order-flow-1' },
        { where: 'plain.bare', id: undefined, carried: bare.id },
      ]),
    );
    const fields = await entryFields(connection, 'plain-orders');
    expect(fields.correlationId).toBe('order-flow-1');
    expect(fields).not.toHaveProperty('traceparent');
    expect(bare).not.toHaveProperty('traceparent');
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('appends the correlation id to the log lines of failing stream and event handlers', async () => {
    const producer = new StreamProducer(connection);
    // A bus of its own: its warnings are throttled per kind, and no other test's may come first.
    const bus = newBus(connection);
    let eventFailed = false;
    await bus.subscribe('failing.event', () => {
      eventFailed = true;
      throw new Error('event handler broke');
    });
    let deadLettered = false;
    const logs = await captureLogs(async () => {
      await consume(connection, {
        stream: 'failing-orders',
        group: 'g',
        maxDeliveries: 1,
        handler: () => {
          throw new Error('stream handler broke');
        },
        onSettled: (_message, outcome) => {
          if (outcome === 'dead_lettered') deadLettered = true;
        },
      });
      await runWithCorrelation('failing-flow-7', async () => {
        await producer.publish('failing-orders', 'order.placed', {});
        await bus.publish('failing.event', {});
      });
      // Both lines are written before these flags are set (the stream's before onSettled runs).
      await eventually(() => expect(deadLettered && eventFailed).toBe(true));
    });
    const failures = logs.filter((entry) => entry.level === 'warn' && entry.message.includes('broke'));
    expect(failures).toHaveLength(2);
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          context: 'StreamConsumer failing-orders/g',
          message: expect.stringMatching(
            /dead-letter stream .*stream handler broke correlationId=failing-flow-7$/,
          ),
        }),
        expect.objectContaining({
          context: 'EventBus',
          message: expect.stringMatching(
            /failing\.event .*event handler broke correlationId=failing-flow-7$/,
          ),
        }),
      ]),
    );
  });
});

@Injectable()
class TracedListener {
  readonly events: Array<{ id: string | undefined; traceId: string | undefined }> = [];
  readonly messages: Array<{ id: string | undefined; traceId: string | undefined }> = [];

  @OnEvent('decorated.event')
  onEvent(): void {
    this.events.push({ id: currentCorrelationId(), traceId: trace.getActiveSpan()?.spanContext().traceId });
  }

  @StreamHandler('decorated-orders', 'billing', { blockMs: 200 })
  onOrder(): void {
    this.messages.push({ id: currentCorrelationId(), traceId: trace.getActiveSpan()?.spanContext().traceId });
  }
}

describe('with a tracer provider', () => {
  let connection: RedisConnection;

  beforeAll(async () => {
    tracing.register();
    connection = await connect(standalone());
  });

  afterEach(() => {
    exporter.reset();
  });

  afterAll(() => {
    tracing.unregister();
    propagation.disable();
  });

  it('makes the consumer span a child of the producer span across a stream, with messaging attributes', async () => {
    const producer = new StreamProducer(connection, { source: 'tracing-test' });
    const id = await underRoot(() => producer.publish('traced-orders', 'order.placed', { n: 1 }));
    const published = only('traced-orders publish');
    const root = only('test root');
    expect(published.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(published)).toBe(root.spanContext().spanId);
    expect(published.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': 'traced-orders',
      'messaging.message.id': id,
      'redkit.stream.priority': 'normal',
    });
    expect(typeof published.attributes['server.address']).toBe('string');
    expect(published.attributes).not.toHaveProperty('db.system');
    expect((await entryFields(connection, 'traced-orders')).traceparent).toBe(traceparentOf(published));

    const inside: Array<{ id: string | undefined }> = [];
    await consume(connection, {
      stream: 'traced-orders',
      group: 'billing',
      handler: () => {
        inside.push({ id: currentCorrelationId() });
        testTracer.startSpan('handler work').end();
      },
    });
    // The process span ends once the entry's XACK landed.
    const processed = await eventually(() => only('traced-orders process'));
    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(processed.spanContext().traceId).toBe(published.spanContext().traceId);
    expect(parentOf(processed)).toBe(published.spanContext().spanId);
    expect(processed.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'traced-orders',
      'messaging.consumer.group.name': 'billing',
      'messaging.message.id': id,
      'redkit.stream.priority': 'normal',
      'redkit.stream.deliveries': 1,
      'redkit.stream.outcome': 'acked',
    });
    expect(processed.events.find((event) => event.name === 'ack')?.attributes).toEqual({
      'messaging.batch.message_count': 1,
    });
    expect(parentOf(only('handler work'))).toBe(processed.spanContext().spanId);
    // Published with no correlation id set: the consumer logs under the trace's id.
    expect(inside).toEqual([{ id: published.spanContext().traceId }]);
  });

  it('records a retry and then a dead letter under the failing deliveries, in the producer trace', async () => {
    const producer = new StreamProducer(connection);
    await runWithCorrelation('poison-1', () =>
      producer.publish('poison', 'order.placed', {}, { priority: 'high' }),
    );
    const published = only('poison publish');
    expect(published.attributes['messaging.message.conversation_id']).toBe('poison-1');
    const inside: Array<string | undefined> = [];
    await consume(connection, {
      stream: 'poison',
      group: 'g',
      maxDeliveries: 2,
      handler: () => {
        inside.push(currentCorrelationId());
        throw new Error('cannot bill');
      },
    });
    const deadLetter = await eventually(() => only('poison dead-letter'));
    const retry = only('poison retry');
    const [first, second] = spans('poison process').sort(
      (left, right) =>
        Number(left.attributes['redkit.stream.deliveries']) -
        Number(right.attributes['redkit.stream.deliveries']),
    );
    for (const span of [first, second, retry, deadLetter])
      expect(span?.spanContext().traceId).toBe(published.spanContext().traceId);
    expect(parentOf(first as ReadableSpan)).toBe(published.spanContext().spanId);
    expect(parentOf(second as ReadableSpan)).toBe(published.spanContext().spanId);
    expect(first?.attributes).toMatchObject({
      'redkit.stream.deliveries': 1,
      'redkit.stream.outcome': 'retried',
      'redkit.stream.priority': 'high',
    });
    expect(second?.attributes).toMatchObject({
      'redkit.stream.deliveries': 2,
      'redkit.stream.outcome': 'dead_lettered',
    });
    for (const span of [first, second]) {
      expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Error: cannot bill' });
      expect(span?.events.map((event) => event.name)).toContain('exception');
    }
    expect(retry.kind).toBe(SpanKind.CLIENT);
    expect(parentOf(retry)).toBe(first?.spanContext().spanId);
    expect(retry.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'retry',
      'redkit.stream.outcome': 'retried',
    });
    expect(parentOf(deadLetter)).toBe(second?.spanContext().spanId);
    expect(deadLetter.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'dead-letter',
      'redkit.stream.outcome': 'dead_lettered',
      'redkit.stream.deliveries': 2,
    });
    expect(inside).toEqual(['poison-1', 'poison-1']);
  });

  it('makes each subscription receive span a child of the event publish span, and restores the correlation id', async () => {
    const bus = newBus(connection);
    const inside: Array<{ subscription: string; id: string | undefined }> = [];
    await bus.subscribe('order.filled', (event) => {
      inside.push({ subscription: 'exact', id: currentCorrelationId() });
      testTracer.startSpan('exact work').end();
      expect(event.traceparent).toBeDefined();
    });
    await bus.subscribe('order.*', async () => {
      inside.push({ subscription: 'pattern', id: currentCorrelationId() });
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('projection failed');
    });
    const sent = await underRoot(() =>
      runWithCorrelation('evt-flow-3', () => bus.publish('order.filled', { orderId: 'o-1' })),
    );
    const published = only('order.filled publish');
    expect(sent.traceparent).toBe(traceparentOf(published));
    expect(published.kind).toBe(SpanKind.PRODUCER);
    expect(published.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'order.filled',
      'messaging.message.id': sent.id,
      'messaging.message.conversation_id': 'evt-flow-3',
    });
    const received = await eventually(() => {
      const found = spans('order.filled receive');
      expect(found).toHaveLength(2);
      return found;
    });
    for (const span of received) {
      expect(span.kind).toBe(SpanKind.CONSUMER);
      expect(span.spanContext().traceId).toBe(published.spanContext().traceId);
      expect(parentOf(span)).toBe(published.spanContext().spanId);
      expect(span.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'receive',
        'messaging.message.id': sent.id,
        'messaging.message.conversation_id': 'evt-flow-3',
      });
    }
    const exact = received.find(
      (span) => span.attributes['messaging.destination.subscription.name'] === 'order.filled',
    );
    const pattern = received.find(
      (span) => span.attributes['messaging.destination.subscription.name'] === 'order.*',
    );
    expect(parentOf(only('exact work'))).toBe(exact?.spanContext().spanId);
    expect(exact?.status.code).toBe(SpanStatusCode.UNSET);
    // The async handler's rejection ends its subscription's span, as an error.
    expect(pattern?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Error: projection failed' });
    expect(inside).toEqual(
      expect.arrayContaining([
        { subscription: 'exact', id: 'evt-flow-3' },
        { subscription: 'pattern', id: 'evt-flow-3' },
      ]),
    );
  });

  it('gives an entry without trace context (another client wrote it) a trace of its own, not the read loop one', async () => {
    const key = new StreamProducer(connection).keyOf('foreign-orders');
    await connection.client.xadd(key, '*', 'type', 'order.placed', 'data', '{}');
    const unrelated = testTracer.startSpan('unrelated');
    // Started inside another span: the consumer's read loop runs in that context from then on.
    await context.with(trace.setSpan(context.active(), unrelated), () =>
      consume(connection, { stream: 'foreign-orders', group: 'g', handler: () => undefined }),
    );
    unrelated.end();
    const processed = await eventually(() => only('foreign-orders process'));
    expect(processed.parentSpanContext).toBeUndefined();
    expect(processed.spanContext().traceId).not.toBe(unrelated.spanContext().traceId);
  });

  it('restores the trace and the correlation id inside @OnEvent and @StreamHandler methods', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRoot({ source: 'decorated' }),
      ],
      providers: [TracedListener],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const listener = app.get(TracedListener);
      await underRoot(() =>
        runWithCorrelation('decorated-9', async () => {
          await app.get(EventBus).publish('decorated.event', {});
          await app.get(StreamProducer).publish('decorated-orders', 'order.placed', {});
        }),
      );
      const traceId = only('test root').spanContext().traceId;
      await eventually(() => {
        expect(listener.events).toEqual([{ id: 'decorated-9', traceId }]);
        expect(listener.messages).toEqual([{ id: 'decorated-9', traceId }]);
      });
    } finally {
      await app.close();
    }
  });

  it('carries the trace across a stream and an event on the 3-master cluster', async () => {
    const clustered = await connect(cluster());
    const producer = new StreamProducer(clustered);
    const bus = newBus(clustered);
    const events: EventEnvelope[] = [];
    await bus.subscribe('cluster.traced', (event) => void events.push(event));
    const handled: StreamMessage[] = [];
    await consume(clustered, {
      stream: 'cluster-orders',
      group: 'g',
      handler: (message) => void handled.push(message),
    });
    await underRoot(async () => {
      await producer.publish('cluster-orders', 'order.placed', {});
      await bus.publish('cluster.traced', {});
    });
    const processed = await eventually(() => only('cluster-orders process'));
    const received = await eventually(() => only('cluster.traced receive'));
    expect(parentOf(processed)).toBe(only('cluster-orders publish').spanContext().spanId);
    expect(parentOf(received)).toBe(only('cluster.traced publish').spanContext().spanId);
    const traceId = only('test root').spanContext().traceId;
    expect(processed.spanContext().traceId).toBe(traceId);
    expect(received.spanContext().traceId).toBe(traceId);
    expect(handled[0]?.traceparent).toBe(traceparentOf(only('cluster-orders publish')));
    expect(events[0]?.traceparent).toBe(traceparentOf(only('cluster.traced publish')));
    // A Cluster has no one address to name.
    expect(processed.attributes).not.toHaveProperty('server.address');
  });
});
