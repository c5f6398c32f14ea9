import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  context,
  propagation,
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Context,
  type TextMapPropagator,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CacheModule, CacheService } from '@redkit/cache';
import { LockService } from '@redkit/lock';
import { OrderBookStore, SequenceGapError } from '@redkit/orderbook';
import { RateLimiterService } from '@redkit/rate-limit';
import {
  CORRELATION_ID_HEADER,
  CorrelationModule,
  RedisConnection,
  RedisModule,
  RedkitTracer,
  currentCorrelationId,
  extractTraceContext,
  injectTraceContext,
  runInRestoredContext,
  tracingEnabled,
} from '@redkit/redis';
import request from 'supertest';

import {
  createHttpApp,
  deleteKeys,
  eventually,
  HTTP_ADAPTERS,
  sharedRedisUrl,
  uniquePrefix,
} from '../harness/index.js';
import { InMemoryTracing, parentOf } from '../harness/in-memory-tracing.js';

const tracing = new InMemoryTracing();
const { exporter } = tracing;
const testTracer = trace.getTracer('redkit-tracing-spec');

const prefix = uniquePrefix('tracing');
let connection: RedisConnection;
let cache: CacheService;
let limiter: RateLimiterService;
let locks: LockService;
let books: OrderBookStore;

const spans = (name: string): ReadableSpan[] => tracing.spans(name);
const only = (name: string): ReadableSpan => tracing.only(name);

/** Runs `fn` under a root span of the test's own and returns that span with what `fn` resolved to. */
async function underRoot<T>(fn: () => Promise<T>): Promise<{ root: ReadableSpan; result: T }> {
  const result = await testTracer.startActiveSpan('test root', async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
  return { root: only('test root'), result };
}

beforeAll(async () => {
  connection = await RedisConnection.open('tracing', { url: sharedRedisUrl(), keyPrefix: prefix });
  cache = new CacheService(connection, { invalidation: 'none', ttlMs: 60_000 });
  limiter = new RateLimiterService(connection);
  locks = new LockService(connection, { ttlMs: 5_000 });
  await locks.onModuleInit();
  books = new OrderBookStore(connection, { symbols: { 'BTC-USD': { tickSize: '0.01' } } });
});

afterAll(async () => {
  await locks?.onApplicationShutdown();
  if (connection !== undefined) {
    await deleteKeys(connection, prefix);
    await connection.close();
  }
});

describe('without a tracer provider', () => {
  it('records nothing, fails nothing, and hands callbacks a no-op span', async () => {
    expect(tracingEnabled()).toBe(false);
    await cache.getOrSet('untraced', () => 'value');
    await limiter.consume('client-a', { name: 'untraced', limit: 5, windowMs: 60_000 });
    const lock = await locks.acquire('untraced');
    await lock.release();
    await books.saveSnapshot('BTC-USD', { sequence: 1, bids: [], asks: [] });
    await books.getSnapshot('BTC-USD', 5);
    const tracer = new RedkitTracer('@redkit/test');
    expect(tracer.enabled).toBe(false);
    expect(tracer.trace('nothing', {}, (span) => span.isRecording())).toBe(false);
    const carrier: Record<string, string> = {};
    expect(injectTraceContext(carrier)).toBe(false);
    expect(carrier).toEqual({});
    expect(
      extractTraceContext({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
    ).toBe(undefined);
    expect(lock.holdSpan).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('with a tracer provider', () => {
  beforeAll(() => {
    tracing.register();
  });

  afterEach(() => {
    exporter.reset();
  });

  afterAll(() => {
    tracing.unregister();
    propagation.disable();
  });

  it('turns tracing on once a provider is registered', () => {
    expect(tracingEnabled()).toBe(true);
  });

  describe('cache', () => {
    it('records getOrSet with its hit level and the loader as a child span', async () => {
      const { root } = await underRoot(async () => {
        await cache.getOrSet('price:BTC', async () => ({ price: '100.5' }));
        await cache.getOrSet('price:BTC', () => ({ price: 'unused' }));
      });
      const [miss, hit] = spans('cache getOrSet');
      const load = only('cache load');
      expect(miss?.attributes).toMatchObject({
        'db.system.name': 'redis',
        'db.system': 'redis',
        'db.operation.name': 'getOrSet',
        'redkit.cache.namespace': 'default',
        'redkit.cache.hit': 'miss',
      });
      expect(typeof miss?.attributes['server.address']).toBe('string');
      expect(typeof miss?.attributes['server.port']).toBe('number');
      expect(hit?.attributes['redkit.cache.hit']).toBe('l1');
      expect(parentOf(load)).toBe(miss?.spanContext().spanId);
      expect(parentOf(miss as ReadableSpan)).toBe(root.spanContext().spanId);
      expect(parentOf(hit as ReadableSpan)).toBe(root.spanContext().spanId);
      expect(new Set(exporter.getFinishedSpans().map((span) => span.spanContext().traceId)).size).toBe(1);
    });

    it('says l2 when another instance loaded the value', async () => {
      await cache.getOrSet('shared', () => 'from-first');
      exporter.reset();
      const other = new CacheService(connection, { invalidation: 'none', ttlMs: 60_000 });
      expect(await other.getOrSet('shared', () => 'never')).toBe('from-first');
      expect(only('cache getOrSet').attributes['redkit.cache.hit']).toBe('l2');
      expect(spans('cache load')).toEqual([]);
    });

    it('marks a caller that joined a load in flight, and records a failing loader', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const first = cache.getOrSet('joined', async () => {
        await gate;
        return 'v';
      });
      const second = cache.getOrSet('joined', () => 'unused');
      release();
      await Promise.all([first, second]);
      const [leader, follower] = spans('cache getOrSet');
      expect(leader?.attributes['redkit.cache.hit']).toBe('miss');
      expect(follower?.attributes['redkit.cache.flight']).toBe('joined');
      exporter.reset();
      await expect(
        cache.getOrSet('failing', () => {
          throw new Error('database down');
        }),
      ).rejects.toThrow('database down');
      expect(only('cache load').status.code).toBe(SpanStatusCode.ERROR);
      const failed = only('cache getOrSet');
      expect(failed.status.code).toBe(SpanStatusCode.ERROR);
      expect(failed.events.map((event) => event.name)).toContain('exception');
    });
  });

  describe('rate limit', () => {
    it('records each check with its decision, who decided, and the limit names (never the identity)', async () => {
      const rule = { name: 'per-minute', limit: 1, windowMs: 60_000 };
      await limiter.consume('client-b', rule);
      await limiter.consume('client-b', rule);
      await limiter.check([{ key: 'client-c', limit: { name: 'burst', limit: 3, windowMs: 1_000 } }]);
      const [allowed, limited] = spans('ratelimit consume');
      expect(allowed?.kind).toBe(SpanKind.CLIENT);
      expect(allowed?.attributes).toMatchObject({
        'db.system.name': 'redis',
        'db.operation.name': 'consume',
        'redkit.ratelimit.decision': 'allowed',
        'redkit.ratelimit.source': 'redis',
        'redkit.ratelimit.limits': ['per-minute'],
      });
      expect(limited?.attributes['redkit.ratelimit.decision']).toBe('limited');
      expect(limited?.attributes['redkit.ratelimit.retry_after_ms']).toBeGreaterThan(0);
      expect(only('ratelimit check').attributes['redkit.ratelimit.limits']).toEqual(['burst']);
      const recorded = JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes));
      expect(recorded).not.toContain('client-b');
    });
  });

  describe('lock', () => {
    it('records the acquisition (wait, fencing token) and the hold from grant to release', async () => {
      const { root } = await underRoot(async () => {
        const lock = await locks.acquire('order:7');
        await lock.release();
        return lock;
      });
      const acquire = only('lock acquire');
      const hold = only('lock hold');
      expect(acquire.kind).toBe(SpanKind.CLIENT);
      expect(acquire.attributes).toMatchObject({
        'db.operation.name': 'acquire',
        'redkit.lock.resource': 'order:7',
        'redkit.lock.acquired': true,
      });
      expect(acquire.attributes['redkit.lock.wait_ms']).toBeGreaterThanOrEqual(0);
      expect(hold.attributes['redkit.lock.fencing_token']).toBe(
        acquire.attributes['redkit.lock.fencing_token'],
      );
      expect(hold.attributes['redkit.lock.released']).toBe(true);
      // Both in the caller's trace, side by side: the hold starts when the acquisition ends.
      expect(parentOf(acquire)).toBe(root.spanContext().spanId);
      expect(parentOf(hold)).toBe(root.spanContext().spanId);
    });

    it('nests the work of using() under the hold, and records a try that found the lock taken', async () => {
      await locks.using('order:8', async () => {
        testTracer.startSpan('protected work').end();
        expect(await locks.tryAcquire('order:8')).toBeNull();
      });
      const hold = only('lock hold');
      expect(parentOf(only('protected work'))).toBe(hold.spanContext().spanId);
      const tried = only('lock tryAcquire');
      expect(tried.attributes['redkit.lock.acquired']).toBe(false);
      expect(parentOf(tried)).toBe(hold.spanContext().spanId);
    });
  });

  describe('order book', () => {
    it('records writes and reads with the symbol, sequence and levels, and a refused write as an error', async () => {
      await books.saveSnapshot('BTC-USD', {
        sequence: 10,
        bids: [{ price: '100', quantity: '1' }],
        asks: [{ price: '101', quantity: '2' }],
      });
      await books.applyDelta('BTC-USD', { sequence: 11, bids: [{ price: '99', quantity: '3' }], asks: [] });
      await books.getSnapshot('BTC-USD', 10);
      await books.getTop('BTC-USD');
      await expect(books.applyDelta('BTC-USD', { sequence: 13, bids: [], asks: [] })).rejects.toThrow(
        SequenceGapError,
      );
      expect(only('orderbook saveSnapshot').attributes).toMatchObject({
        'db.system.name': 'redis',
        'db.operation.name': 'saveSnapshot',
        'redkit.orderbook.symbol': 'BTC-USD',
        'redkit.orderbook.sequence': 10,
        'redkit.orderbook.bid_levels': 1,
        'redkit.orderbook.ask_levels': 1,
      });
      const [applied, gapped] = spans('orderbook applyDelta');
      expect(applied?.attributes['redkit.orderbook.bid_levels']).toBe(2);
      expect(gapped?.status.code).toBe(SpanStatusCode.ERROR);
      expect(only('orderbook getSnapshot').attributes).toMatchObject({
        'redkit.orderbook.depth': 10,
        'redkit.orderbook.found': true,
        'redkit.orderbook.sequence': 11,
      });
      expect(only('orderbook getTop').attributes['redkit.orderbook.found']).toBe(true);
    });
  });

  describe('trace context through a carrier', () => {
    it('makes a consumer span a child of the producer span, and restores the correlation id', async () => {
      const carrier: Record<string, string> = {};
      const producer = new RedkitTracer('@redkit/test');
      producer.trace('orders publish', { kind: 'producer' }, () => {
        carrier.correlationId = 'order-flow-1';
        expect(injectTraceContext(carrier)).toBe(true);
      });
      const published = only('orders publish');
      expect(carrier.traceparent).toBe(
        `00-${published.spanContext().traceId}-${published.spanContext().spanId}-01`,
      );
      // The consumer runs elsewhere, outside any span: only the carrier links them.
      const seen = await context.with(ROOT_CONTEXT, () =>
        runInRestoredContext(carrier, () =>
          producer.trace('orders process', { kind: 'consumer' }, async () => currentCorrelationId()),
        ),
      );
      expect(seen).toBe('order-flow-1');
      const processed = only('orders process');
      expect(processed.spanContext().traceId).toBe(published.spanContext().traceId);
      expect(parentOf(processed)).toBe(published.spanContext().spanId);
      // extractTraceContext gives the same parent explicitly.
      const parent = extractTraceContext(carrier);
      producer.trace('orders retry', { kind: 'consumer', parent }, () => undefined);
      expect(parentOf(only('orders retry'))).toBe(published.spanContext().spanId);
    });

    it('ignores a malformed traceparent and uses the trace id of a valid one as the correlation id', () => {
      const producer = new RedkitTracer('@redkit/test');
      runInRestoredContext({ traceparent: 'garbage' }, () => producer.trace('orphan', {}, () => undefined));
      expect(only('orphan').parentSpanContext).toBeUndefined();
      const id = runInRestoredContext(
        { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
        () => currentCorrelationId(),
      );
      expect(id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    });

    it('goes through the propagator an SDK registered', () => {
      const fields: string[] = [];
      const propagator: TextMapPropagator = {
        inject(active: Context, carrier: unknown) {
          const spanContext = trace.getSpanContext(active);
          if (spanContext !== undefined)
            (carrier as Record<string, string>)['x-test-trace'] = spanContext.traceId;
        },
        extract(active: Context, carrier: unknown) {
          const traceId = (carrier as Record<string, string>)['x-test-trace'];
          if (traceId === undefined) return active;
          return trace.setSpanContext(active, {
            traceId,
            spanId: '00f067aa0ba902b7',
            traceFlags: 1,
            isRemote: true,
          });
        },
        fields: () => fields,
      };
      propagation.setGlobalPropagator(propagator);
      try {
        const carrier: Record<string, string> = {};
        const tracer = new RedkitTracer('@redkit/test');
        expect(tracer.trace('producer', {}, () => injectTraceContext(carrier))).toBe(true);
        expect(carrier['x-test-trace']).toBe(only('producer').spanContext().traceId);
        expect(carrier.traceparent).toBeUndefined();
        tracer.trace('consumer', { parent: extractTraceContext(carrier) }, () => undefined);
        expect(only('consumer').spanContext().traceId).toBe(carrier['x-test-trace']);
      } finally {
        propagation.disable();
      }
    });
  });

  @Controller('traced')
  class TracedController {
    constructor(private readonly cacheService: CacheService) {}

    @Get(':id')
    async get(@Param('id') id: string): Promise<{ id: string | null; value: string }> {
      const value = await this.cacheService.getOrSet(`item:${id}`, () => `item-${id}`);
      return { id: currentCorrelationId() ?? null, value };
    }
  }

  describe.each(HTTP_ADAPTERS)('HTTP server spans on %s', (adapter) => {
    let app: INestApplication;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix: prefix }),
          CacheModule.forRoot({ invalidation: 'none' }),
          CorrelationModule.forRoot(),
        ],
        controllers: [TracedController],
      }).compile();
      app = await createHttpApp(moduleRef, adapter, { logger: false });
    });

    afterAll(async () => {
      await app?.close();
    });

    it('parents a server span on the incoming traceparent, and redkit spans on the server span', async () => {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const response = await request(app.getHttpServer())
        .get('/traced/42')
        .set('traceparent', `00-${traceId}-b7ad6b7169203331-01`)
        .expect(200);
      expect(response.body).toEqual({ id: traceId, value: 'item-42' });
      expect(response.headers[CORRELATION_ID_HEADER]).toBe(traceId);
      // The server span ends on the response's close, which may come a moment after the client read it.
      const server = await eventually(() => only('HTTP GET /traced/:id'));
      expect(server.kind).toBe(SpanKind.SERVER);
      expect(server.spanContext().traceId).toBe(traceId);
      expect(parentOf(server)).toBe('b7ad6b7169203331');
      expect(server.attributes).toMatchObject({
        'http.request.method': 'GET',
        'http.route': '/traced/:id',
        'url.path': '/traced/42',
        'http.response.status_code': 200,
        'redkit.correlation_id': traceId,
      });
      expect(parentOf(only('cache getOrSet'))).toBe(server.spanContext().spanId);
    });

    it('starts a new trace without traceparent, and its trace id is the correlation id', async () => {
      const response = await request(app.getHttpServer()).get('/traced/43').expect(200);
      const server = await eventually(() => only('HTTP GET /traced/:id'));
      expect(parentOf(server)).toBeUndefined();
      expect(response.body.id).toBe(server.spanContext().traceId);
      expect(only('cache getOrSet').spanContext().traceId).toBe(server.spanContext().traceId);
    });
  });
});
