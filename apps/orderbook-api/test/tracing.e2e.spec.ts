import http from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';

import { captureLogs, eventually, RedisServer } from '../../../test/harness/index.js';
import { InMemoryTracing } from '../../../test/harness/in-memory-tracing.js';
import { testMarkets } from './support/markets.js';
import { clientAddress, HTTP_ADAPTERS, startTestApp } from './support/test-app.js';

const tracing = new InMemoryTracing();
const { exporter } = tracing;

/** One Server-Sent Event as a client sees it. */
interface ServerSentEvent {
  event: string;
  data: unknown;
}

/** Opens an SSE stream and collects its events until closed; `ready` once `subscribed` arrived. */
function openStream(url: string): { events: ServerSentEvent[]; close(): void; ready: Promise<void> } {
  const events: ServerSentEvent[] = [];
  let buffer = '';
  let closeRequest = (): void => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const outgoing = http.get(url, (response) => {
      if (response.statusCode !== 200) reject(new Error(`stream answered ${response.statusCode}`));
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          events.push({ event, data: JSON.parse(data.join('\n')) });
          if (event === 'subscribed') resolve();
        }
      });
    });
    outgoing.on('error', () => undefined);
    closeRequest = () => outgoing.destroy();
  });
  return { events, close: () => closeRequest(), ready };
}

beforeAll(() => {
  tracing.register();
});

afterAll(() => {
  tracing.unregister();
});

describe.each(HTTP_ADAPTERS)('one order traced end to end on %s', (httpAdapter) => {
  let server: RedisServer;
  let app: INestApplication;

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await startTestApp(server.url, {
      trustProxy: true,
      markets: testMarkets('TRACE-USD'),
      httpAdapter,
      correlationIds: true,
    });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('puts the guard, the lock, the matching, the book write, the events and the SSE fan-out of an HTTP order in one trace, and its log line carries the correlation id', async () => {
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const stream = openStream(`${url}/markets/TRACE-USD/stream`);
    const correlationId = `order-e2e-${httpAdapter}`;
    try {
      await stream.ready;
      await request(app.getHttpServer())
        .post('/markets/TRACE-USD/orders')
        .set('x-forwarded-for', clientAddress())
        .send({ side: 'sell', price: '20', quantity: '1' })
        .expect(201);
      let response!: request.Response;
      const logs = await captureLogs(async () => {
        response = await request(app.getHttpServer())
          .post('/markets/TRACE-USD/orders')
          .set('x-forwarded-for', clientAddress())
          .set('x-correlation-id', correlationId)
          .send({ side: 'buy', price: '21', quantity: '0.5' })
          .expect(201);
      });
      expect(response.headers['x-correlation-id']).toBe(correlationId);
      expect(response.body.trades).toHaveLength(1);

      // The server span names the request's correlation id; its trace id is the trace's.
      const serverSpan = await eventually(() => {
        const found = exporter
          .getFinishedSpans()
          .find(
            (span) =>
              span.kind === SpanKind.SERVER && span.attributes['redkit.correlation_id'] === correlationId,
          );
        expect(found).toBeDefined();
        return found as ReadableSpan;
      });
      const { traceId } = serverSpan.spanContext();
      const inTrace = (name: string): ReadableSpan[] =>
        exporter
          .getFinishedSpans()
          .filter((span) => span.name === name && span.spanContext().traceId === traceId);
      const one = (name: string): ReadableSpan => {
        const found = inTrace(name);
        expect(found).toHaveLength(1);
        return found[0] as ReadableSpan;
      };
      // Receivers and the SSE fan-out end after the response: wait for them.
      await eventually(() => {
        expect(inTrace('sse fan-out')).toHaveLength(2);
        expect(stream.events.some((event) => event.event === 'trade.executed')).toBe(true);
      });
      const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
      const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

      expect(serverSpan.name).toBe('HTTP POST /markets/:symbol/orders');
      expect(serverSpan.attributes['http.response.status_code']).toBe(201);
      const guard = one('ratelimit check');
      expect(parentOf(guard)).toBe(idOf(serverSpan));
      expect(guard.attributes['redkit.ratelimit.decision']).toBe('allowed');
      const acquire = one('lock acquire');
      const hold = one('lock hold');
      expect(acquire.attributes['redkit.lock.resource']).toBe('book:TRACE-USD');
      expect(parentOf(acquire)).toBe(idOf(serverSpan));
      expect(parentOf(hold)).toBe(idOf(serverSpan));
      const match = one('exchange match');
      expect(parentOf(match)).toBe(idOf(hold));
      expect(match.attributes).toMatchObject({ 'exchange.symbol': 'TRACE-USD', 'exchange.trades': 1 });
      const bookWrite = one('orderbook applyDelta');
      expect(parentOf(bookWrite)).toBe(idOf(hold));
      for (const type of ['trade.executed', 'book.updated']) {
        const published = one(`${type} publish`);
        expect(published.kind).toBe(SpanKind.PRODUCER);
        expect(parentOf(published)).toBe(idOf(hold));
        expect(published.attributes['messaging.message.conversation_id']).toBe(correlationId);
        const received = one(`${type} receive`);
        expect(received.kind).toBe(SpanKind.CONSUMER);
        expect(parentOf(received)).toBe(idOf(published));
        const fanOut = inTrace('sse fan-out').find((span) => parentOf(span) === idOf(received));
        expect(fanOut?.attributes).toMatchObject({
          'exchange.event.type': type,
          'exchange.symbol': 'TRACE-USD',
        });
      }

      const orderLine = logs.find(
        (entry) => entry.context === 'Exchange' && entry.message.startsWith('order '),
      );
      expect(orderLine?.message).toMatch(
        new RegExp(
          `^order \\d+ buy 0\\.5 @ 21 on TRACE-USD: filled, 1 trades correlationId=${correlationId}$`,
        ),
      );
    } finally {
      stream.close();
    }
  });
});
