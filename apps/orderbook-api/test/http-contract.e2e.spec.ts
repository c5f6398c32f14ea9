import http from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';

import { RedisServer, eventually } from '../../../test/harness/index.js';
import { testMarkets } from './support/markets.js';
import {
  clientAddress,
  HTTP_ADAPTERS,
  otherAdapter,
  startTestApp,
  TEST_ADMIN_KEY,
} from './support/test-app.js';

/** One Server-Sent Event as a client sees it. */
interface ServerSentEvent {
  event: string;
  data: unknown;
}

/** Opens an SSE stream and collects its events until closed. */
function openStream(url: string): { events: ServerSentEvent[]; close(): void; ready: Promise<void> } {
  const events: ServerSentEvent[] = [];
  let buffer = '';
  let closeRequest = (): void => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const outgoing = http.get(url, (response) => {
      if (response.statusCode !== 200) reject(new Error(`stream answered ${response.statusCode}`));
      expect(response.headers['content-type']).toContain('text/event-stream');
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

describe.each(HTTP_ADAPTERS)('orderbook-api HTTP contract on %s', (httpAdapter) => {
  let server: RedisServer;
  let app: INestApplication;
  let other: INestApplication;

  beforeAll(async () => {
    server = await RedisServer.start();
    const markets = testMarkets('LIMIT-USD', 'SSE-USD', 'FUZZ-USD');
    app = await startTestApp(server.url, { trustProxy: true, markets, httpAdapter });
    // The second instance runs on the other adapter: instances of a deployment may differ.
    other = await startTestApp(server.url, {
      trustProxy: true,
      markets,
      httpAdapter: otherAdapter(httpAdapter),
    });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await other?.close();
    await server?.stop();
  });

  it('answers 429 with Retry-After and RateLimit headers once a client passes the write limit', async () => {
    const client = clientAddress();
    // Twenty at once: they reach the limiter well within its one-second window, even on a busy machine.
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        request(app.getHttpServer())
          .post('/markets/LIMIT-USD/orders')
          .set('x-forwarded-for', client)
          .send({ side: 'buy', price: '1', quantity: '1' }),
      ),
    );
    const admitted = responses.filter((response) => response.status === 201);
    const refused = responses.filter((response) => response.status === 429);
    expect(admitted.length + refused.length).toBe(20);
    expect(admitted.length).toBeGreaterThan(0);
    expect(admitted.length).toBeLessThanOrEqual(10);
    for (const response of admitted) expect(response.headers['ratelimit-limit']).toBe('10');
    const first = refused[0] as request.Response;
    expect(first.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
    expect(first.headers['ratelimit-remaining']).toBe('0');
    expect(first.headers['ratelimit-limit']).toBe('10');
    expect(first.headers['ratelimit-reset']).toMatch(/^[0-9]+$/);
    expect(first.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', limit: 'writes' });
    // Reads have their own, looser limit: the same client still reads.
    await request(app.getHttpServer())
      .get('/markets/LIMIT-USD/book')
      .set('x-forwarded-for', client)
      .expect(200);
  });

  it('streams the trade event to an SSE client, whichever instance matched the order', async () => {
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const stream = openStream(`${url}/markets/SSE-USD/stream`);
    try {
      await stream.ready;
      const place = (body: object) =>
        request(other.getHttpServer())
          .post('/markets/SSE-USD/orders')
          .set('x-forwarded-for', clientAddress())
          .send(body)
          .expect(201);
      const maker = (await place({ side: 'sell', price: '20', quantity: '2' })).body.order;
      const taker = (await place({ side: 'buy', price: '21', quantity: '0.5' })).body.order;
      await eventually(() => {
        const trade = stream.events.find((event) => event.event === 'trade.executed');
        expect(trade?.data).toMatchObject({
          symbol: 'SSE-USD',
          trade: {
            price: '20',
            quantity: '0.5',
            makerOrderId: maker.id,
            takerOrderId: taker.id,
            takerSide: 'buy',
          },
        });
        const deltas = stream.events.filter((event) => event.event === 'book.updated');
        expect(deltas.at(-1)?.data).toMatchObject({
          symbol: 'SSE-USD',
          asks: [{ price: '20', quantity: '1.5' }],
        });
      });
      expect(stream.events.every((event) => (event.data as { symbol?: string }).symbol !== 'FUZZ-USD')).toBe(
        true,
      );
    } finally {
      stream.close();
    }
  });

  it('answers 1,000 fuzzed requests without a single 5xx', async () => {
    let seed = 42;
    const next = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
    const scalars: unknown[] = [
      null,
      true,
      0,
      -1,
      1e308,
      -1e-308,
      2 ** 53 + 1,
      '',
      ' ',
      'buy',
      'sell',
      'BUY',
      '1',
      '0',
      '-1',
      '1e3',
      '0x10',
      'NaN',
      'Infinity',
      '1.5',
      '1.005',
      '.5',
      '5.',
      '00001.10',
      '9'.repeat(400),
      `1.${'0'.repeat(30)}1`,
      '１２',
      '<script>',
      '{}',
      'limit',
      'market',
      'a'.repeat(70),
    ];
    const value = (depth = 0): unknown => {
      const roll = next();
      if (roll < 0.65 || depth > 2) return pick(scalars);
      if (roll < 0.8) return Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1));
      return body(depth + 1);
    };
    const fields = [
      'side',
      'price',
      'quantity',
      'clientOrderId',
      'type',
      'bids',
      'asks',
      'extra',
      '__proto__',
      'constructor',
    ];
    const body = (depth = 0): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      if (depth === 0 && next() < 0.15)
        return { side: pick(['buy', 'sell']), price: pick(['9.99', '10', '10.01']), quantity: '1' };
      if (next() < 0.5) Object.assign(out, { side: pick(['buy', 'sell']), price: '10', quantity: '1' });
      for (const field of fields) if (next() < 0.3) out[field] = value(depth);
      if (next() < 0.3) out.bids = [{ price: value(depth), quantity: value(depth) }];
      return out;
    };
    const paths = [
      () => ({
        method: 'post',
        path: `/markets/${pick(['FUZZ-USD', 'fuzz-usd', 'NOPE', '%00', 'a'.repeat(300)])}/orders`,
      }),
      () => ({ method: 'put', path: '/markets/FUZZ-USD/book' }),
      () => ({
        method: 'get',
        path: `/markets/FUZZ-USD/book?depth=${encodeURIComponent(String(pick(scalars)))}`,
      }),
      () => ({
        method: 'get',
        path: `/markets/FUZZ-USD/trades?limit=${encodeURIComponent(String(pick(scalars)))}&x=1`,
      }),
      () => ({
        method: 'get',
        path: `/markets/FUZZ-USD/orders/${encodeURIComponent(String(pick(scalars)))}`,
      }),
      () => ({
        method: 'delete',
        path: `/markets/FUZZ-USD/orders/${encodeURIComponent(String(pick(scalars)))}`,
      }),
    ];
    const raw = [
      '{',
      '{"side":',
      'null',
      '[]',
      '"text"',
      '{"price": 1e999999}',
      `{"a":${'['.repeat(5000)}`,
      'x'.repeat(200_000),
    ];

    const failures: string[] = [];
    const statuses = new Set<number>();
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < 1_000) {
        sent += 1;
        const target = (
          next() < 0.7
            ? (paths[Math.floor(next() * 2)] as () => { method: string; path: string })
            : pick(paths)
        )();
        const useRaw = next() < 0.1;
        const payload = useRaw ? pick(raw) : JSON.stringify(body());
        let call = request(app.getHttpServer())
          [target.method as 'post'](target.path)
          .set('x-forwarded-for', clientAddress())
          .set(
            'content-type',
            pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']),
          );
        if (target.method === 'put') call = call.set('x-api-key', TEST_ADMIN_KEY);
        const response = await call.send(payload);
        statuses.add(response.status);
        if (response.status >= 500)
          failures.push(
            `${target.method} ${target.path} ${payload.slice(0, 200)} -> ${response.status} ${response.text}`,
          );
        else expect(response.headers['content-type'] ?? '').toMatch(/json/);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(failures).toEqual([]);
    // The fuzz reached the handlers (placed orders), the validation and the body parser's limits.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 201, 400, 404, 413]));
  });

  it('documents every route with its request and response shapes at /docs', async () => {
    const spec = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body;
    expect(Object.keys(spec.paths).sort()).toEqual(
      expect.arrayContaining([
        '/health',
        '/metrics',
        '/markets',
        '/markets/{symbol}/book',
        '/markets/{symbol}/orders',
        '/markets/{symbol}/orders/{id}',
        '/markets/{symbol}/stream',
        '/markets/{symbol}/ticker',
        '/markets/{symbol}/trades',
      ]),
    );
    // Cached routes take a hidden argument from the cache (the request): it is not a parameter.
    const bookParameters = (spec.paths['/markets/{symbol}/book'].get.parameters as Array<{ name: string }>)
      .map(({ name }) => name)
      .sort();
    expect(bookParameters).toEqual(['depth', 'fresh', 'symbol']);
    const place = spec.paths['/markets/{symbol}/orders'].post;
    expect(place.requestBody.content['application/json'].schema.$ref).toContain('PlaceOrderRequest');
    expect(place.responses['201'].content['application/json'].schema.$ref).toContain('PlaceOrderResponse');
    expect(place.responses['400'].content['application/json'].schema.$ref).toContain('ErrorResponse');
    expect(
      spec.paths['/markets/{symbol}/book'].put.requestBody.content['application/json'].schema.$ref,
    ).toContain('ImportBookRequest');
    for (const name of [
      'PlaceOrderRequest',
      'OrderResponse',
      'BookResponse',
      'TickerResponse',
      'TradeResponse',
    ]) {
      expect(spec.components.schemas[name]).toBeDefined();
    }
  });
});
