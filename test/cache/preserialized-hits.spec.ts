import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Header,
  Injectable,
  type INestApplication,
  Module,
  type NestInterceptor,
  type CallHandler,
  type ExecutionContext,
  Param,
  type Provider,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, Cacheable } from '@redkit/cache';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { getRedisConnectionToken, RedisModule, type RedisConnection } from '@redkit/redis';
import { map, type Observable } from 'rxjs';
import request from 'supertest';

import {
  createHttpApp,
  deleteKeys,
  HTTP_ADAPTERS,
  metricValue,
  sharedRedisUrl,
  uniquePrefix,
  type HttpAdapterName,
} from '../harness/index.js';

/** Counts the handler's runs, so a test knows a response was a hit. */
@Injectable()
class Runs {
  private readonly counts = new Map<string, number>();

  next(name: string): number {
    const count = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, count);
    return count;
  }

  of(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

@Controller('json')
class JsonController {
  constructor(private readonly runs: Runs) {}

  @Get('book/:symbol')
  @Cacheable({ key: 'book:{0.params.symbol}' })
  book(@Param('symbol') symbol: string): object {
    this.runs.next(`book ${symbol}`);
    // What JSON escapes (quotes, backslashes, control and non-ASCII characters) and what it drops
    // or converts (undefined, a Date, -0, a nested toJSON-less class instance).
    return {
      symbol,
      note: 'quote " backslash \\ tab \t line\u2028 euro € emoji 🚀',
      levels: [
        ['64000.50', '0.01'],
        ['63999.00', '1.5'],
      ],
      nested: { empty: {}, list: [], nothing: null, dropped: undefined, zero: -0 },
      at: new Date(Date.UTC(2026, 11, 6)),
    };
  }

  @Get('list')
  @Cacheable({ key: 'list' })
  list(): number[] {
    this.runs.next('list');
    return [1, 2, 3];
  }

  @Get('text')
  @Cacheable({ key: 'text' })
  text(): string {
    this.runs.next('text');
    return 'plain words';
  }

  @Get('typed')
  @Header('Content-Type', 'application/vnd.redkit+json')
  @Cacheable({ key: 'typed' })
  typed(): object {
    this.runs.next('typed');
    return { typed: true };
  }
}

/** Wraps every body in `{ data }`, as some apps do app-wide. */
@Injectable()
class EnvelopeInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data: unknown) => ({ data })));
  }
}

async function startApp(
  keyPrefix: string,
  adapter: HttpAdapterName,
  preserializedHits: boolean,
  providers: Provider[] = [],
): Promise<INestApplication> {
  @Module({
    imports: [
      RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
      MetricsModule.forRoot({ defaultMetrics: false }),
      CacheModule.forRoot({ ttlJitter: 0, preserializedHits }),
    ],
    providers: [Runs, ...providers],
    controllers: [JsonController],
  })
  class JsonAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [JsonAppModule] }).compile();
  return createHttpApp(moduleRef, adapter);
}

async function stopApp(app: INestApplication | undefined, keyPrefix: string): Promise<void> {
  if (app === undefined) return;
  await deleteKeys(app.get<RedisConnection>(getRedisConnectionToken()), keyPrefix);
  await app.close();
}

/** The raw body and the headers a client sees, for `path`. */
async function fetchRaw(app: INestApplication, path: string) {
  const response = await request(app.getHttpServer())
    .get(path)
    .buffer(true)
    .parse((res, done) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done(null, text));
    });
  return {
    status: response.status,
    text: response.body as string,
    type: response.headers['content-type'],
    length: response.headers['content-length'],
  };
}

describe.each(HTTP_ADAPTERS)('preserializedHits on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`jsonhits${adapter}`);
  let app: INestApplication;
  let runs: Runs;

  beforeAll(async () => {
    app = await startApp(keyPrefix, adapter, true);
    runs = app.get(Runs);
  });

  afterAll(() => stopApp(app, keyPrefix));

  it('sends a hit byte for byte as the miss was sent: same body, Content-Type and Content-Length', async () => {
    const miss = await fetchRaw(app, '/json/book/BTC');
    const hit = await fetchRaw(app, '/json/book/BTC');

    expect(runs.of('book BTC')).toBe(1);
    expect(miss.status).toBe(200);
    expect(hit).toEqual(miss);
    expect(miss.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(hit.text)).toMatchObject({ symbol: 'BTC', at: '2026-12-06T00:00:00.000Z' });
  });

  it('sends an array the same way', async () => {
    const miss = await fetchRaw(app, '/json/list');
    const hit = await fetchRaw(app, '/json/list');

    expect(runs.of('list')).toBe(1);
    expect(hit).toEqual(miss);
    expect(hit.text).toBe('[1,2,3]');
  });

  it('counts the hit and counts its JSON text against the L1 byte bound once', async () => {
    const cache = app.get(CacheService);
    const metrics = app.get(MetricsService);
    const series = 'redkit_cache_hits_total{cache="default",level="l1"}';
    await fetchRaw(app, '/json/book/ETH');
    const before = { hits: await metricValue(metrics, series), bytes: cache.l1Usage.bytes };

    const first = await fetchRaw(app, '/json/book/ETH');
    const afterFirst = cache.l1Usage.bytes;
    await fetchRaw(app, '/json/book/ETH');

    expect(runs.of('book ETH')).toBe(1);
    expect(await metricValue(metrics, series)).toBe(before.hits + 2);
    expect(afterFirst - before.bytes).toBe(first.text.length);
    expect(cache.l1Usage.bytes).toBe(afterFirst);
  });

  it('leaves a string value to the adapter, which sends it as text', async () => {
    const miss = await fetchRaw(app, '/json/text');
    const hit = await fetchRaw(app, '/json/text');

    expect(runs.of('text')).toBe(1);
    expect(hit).toEqual(miss);
    expect(hit.text).toBe('plain words');
    expect(hit.type).toMatch(/^text\//);
  });

  it("keeps a route's own Content-Type", async () => {
    const miss = await fetchRaw(app, '/json/typed');
    const hit = await fetchRaw(app, '/json/typed');

    expect(runs.of('typed')).toBe(1);
    expect(hit).toEqual(miss);
    expect(hit.type).toMatch(/^application\/vnd\.redkit\+json/);
  });
});

describe.each(HTTP_ADAPTERS)('preserializedHits with an app-wide interceptor on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`jsonhitsenvelope${adapter}`);
  let app: INestApplication;

  beforeAll(async () => {
    app = await startApp(keyPrefix, adapter, true, [
      { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
    ]);
  });

  afterAll(() => stopApp(app, keyPrefix));

  it('hands the interceptor the value, not text, so it still shapes the hit like the miss', async () => {
    const miss = await fetchRaw(app, '/json/list');
    const hit = await fetchRaw(app, '/json/list');

    expect(app.get(Runs).of('list')).toBe(1);
    expect(hit).toEqual(miss);
    expect(JSON.parse(hit.text)).toEqual({ data: [1, 2, 3] });
  });
});
