import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  Injectable,
  Post,
  Req,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  CORRELATION_ID_HEADER,
  CorrelationModule,
  CorrelationOptionsError,
  InjectRedisConnection,
  InvalidCorrelationIdError,
  RedisConnection,
  RedisModule,
  RedkitLogger,
  currentCorrelationId,
  runWithCorrelation,
  type CorrelationModuleOptions,
} from '@redkit/redis';
import { Redis } from 'ioredis';
import request from 'supertest';

import {
  captureLogs,
  createHttpApp,
  HTTP_ADAPTERS,
  RedisServer,
  type HttpAdapterName,
} from '../harness/index.js';

/** A W3C traceparent whose trace id becomes the correlation id. */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const GENERATED = /^[0-9a-f]{32}$/;

/** The ACL user the app connects as: everything but ECHO, so a handler can meet a real refusal. */
const NARROW_USER = { username: 'narrow', password: 'narrow-secret' };

interface SeenRequest {
  guardSaw?: string;
}

/** Records the id a Nest guard sees: the context must be set before Nest's enhancers run. */
@Injectable()
class RecordingGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<SeenRequest>().guardSaw = currentCorrelationId();
    return true;
  }
}

@Controller('correlation')
class CorrelationController {
  private readonly logger = new RedkitLogger('Orders');

  constructor(@InjectRedisConnection() private readonly connection: RedisConnection) {}

  /** The id after a Redis round trip. */
  @Get('id')
  async id(): Promise<{ id: string | null }> {
    await this.connection.client.ping();
    return { id: currentCorrelationId() ?? null };
  }

  @Post('id')
  async posted(@Body() body: { note?: string }): Promise<{ id: string | null; note: string | null }> {
    await this.connection.client.ping();
    return { id: currentCorrelationId() ?? null, note: body.note ?? null };
  }

  @Get('guard')
  guard(@Req() seen: SeenRequest): { id: string | null; guardSaw: string | null } {
    return { id: currentCorrelationId() ?? null, guardSaw: seen.guardSaw ?? null };
  }

  @Get('log')
  log(): { id: string | null } {
    this.logger.warn('matching took long');
    return { id: currentCorrelationId() ?? null };
  }

  /** Meets a real NOPERM and reports it as a lib does: through the connection, which logs it. */
  @Get('refused')
  async refused(): Promise<{ id: string | null }> {
    await this.connection.client.echo('hello').catch((error: unknown) => {
      this.connection.notePermission('orders', error);
    });
    return { id: currentCorrelationId() ?? null };
  }
}

let server: RedisServer;

beforeAll(async () => {
  server = await RedisServer.start();
  const admin = new Redis(server.url);
  try {
    await admin.call(
      'ACL',
      'SETUSER',
      NARROW_USER.username,
      'on',
      `>${NARROW_USER.password}`,
      '~*',
      '&*',
      '+@all',
      '-echo',
    );
  } finally {
    admin.disconnect();
  }
});

afterAll(async () => {
  await server?.stop();
});

async function startApp(
  adapter: HttpAdapterName,
  options?: CorrelationModuleOptions,
): Promise<INestApplication> {
  const url = new URL(server.url);
  url.username = NARROW_USER.username;
  url.password = NARROW_USER.password;
  const moduleRef = await Test.createTestingModule({
    imports: [RedisModule.forRoot({ url: url.toString() }), CorrelationModule.forRoot(options)],
    controllers: [CorrelationController],
    providers: [{ provide: APP_GUARD, useClass: RecordingGuard }],
  }).compile();
  return createHttpApp(moduleRef, adapter, { logger: false });
}

describe.each(HTTP_ADAPTERS)('CorrelationModule on %s', (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startApp(adapter);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('takes the trace id of a valid traceparent, and answers it in x-correlation-id', async () => {
    const response = await request(app.getHttpServer())
      .get('/correlation/id')
      .set('traceparent', TRACEPARENT)
      .set(CORRELATION_ID_HEADER, 'ignored-when-traceparent-is-valid')
      .expect(200);
    expect(response.body).toEqual({ id: TRACE_ID });
    expect(response.headers[CORRELATION_ID_HEADER]).toBe(TRACE_ID);
  });

  it('takes x-correlation-id when there is no traceparent', async () => {
    const response = await request(app.getHttpServer())
      .get('/correlation/id')
      .set(CORRELATION_ID_HEADER, 'order-7f3a:checkout/2')
      .expect(200);
    expect(response.body).toEqual({ id: 'order-7f3a:checkout/2' });
    expect(response.headers[CORRELATION_ID_HEADER]).toBe('order-7f3a:checkout/2');
  });

  it('generates a new id for a request that brings none, one per request', async () => {
    const first = await request(app.getHttpServer()).get('/correlation/id').expect(200);
    const second = await request(app.getHttpServer()).get('/correlation/id').expect(200);
    const ids = [first.body.id, second.body.id] as string[];
    expect(ids[0]).toMatch(GENERATED);
    expect(ids[1]).toMatch(GENERATED);
    expect(ids[0]).not.toBe(ids[1]);
    expect(first.headers[CORRELATION_ID_HEADER]).toBe(ids[0]);
  });

  it.each([
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['version ff', `ff-${TRACE_ID}-00f067aa0ba902b7-01`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-00f067aa0ba902b7-01`],
    ['version 00 with a trailing field', `${TRACEPARENT}-extra`],
    ['garbage', 'not a traceparent'],
  ])('ignores a traceparent with %s and falls back to x-correlation-id', async (_case, traceparent) => {
    const response = await request(app.getHttpServer())
      .get('/correlation/id')
      .set('traceparent', traceparent)
      .set(CORRELATION_ID_HEADER, 'fallback-id')
      .expect(200);
    expect(response.body).toEqual({ id: 'fallback-id' });
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['spaces', 'two words'],
    ['quotes and angle brackets', '"<script>"'],
    ['a semicolon', 'id;drop'],
    ['non-ASCII', 'id-é'],
  ])('ignores an x-correlation-id with %s (a new id, never an error)', async (_case, given) => {
    const response = await request(app.getHttpServer())
      .get('/correlation/id')
      .set(CORRELATION_ID_HEADER, given)
      .expect(200);
    expect(response.body.id).toMatch(GENERATED);
    expect(response.headers[CORRELATION_ID_HEADER]).toBe(response.body.id);
  });

  it('keeps the id through a JSON body read (the Fastify POST case) and a Redis round trip', async () => {
    const response = await request(app.getHttpServer())
      .post('/correlation/id')
      .set(CORRELATION_ID_HEADER, 'with-a-body')
      .send({ note: 'x'.repeat(20_000) })
      .expect(201);
    expect(response.body).toEqual({ id: 'with-a-body', note: 'x'.repeat(20_000) });
  });

  it('sets the id before Nest guards run', async () => {
    const response = await request(app.getHttpServer())
      .get('/correlation/guard')
      .set(CORRELATION_ID_HEADER, 'seen-by-guard')
      .expect(200);
    expect(response.body).toEqual({ id: 'seen-by-guard', guardSaw: 'seen-by-guard' });
  });

  it('gives each of many concurrent requests its own id, across awaits', async () => {
    const ids = Array.from({ length: 40 }, (_, index) => `concurrent-${index}`);
    const responses = await Promise.all(
      ids.map((id) =>
        request(app.getHttpServer())
          .post('/correlation/id')
          .set(CORRELATION_ID_HEADER, id)
          .send({ note: id }),
      ),
    );
    expect(responses.map((response) => response.body)).toEqual(ids.map((id) => ({ id, note: id })));
  });

  it('appends the id to log lines written during the request, a lib’s included', async () => {
    const logs = await captureLogs(async () => {
      await request(app.getHttpServer())
        .get('/correlation/log')
        .set(CORRELATION_ID_HEADER, 'logged-id')
        .expect(200);
      await request(app.getHttpServer())
        .get('/correlation/refused')
        .set(CORRELATION_ID_HEADER, 'refused-id')
        .expect(200);
    });
    expect(logs).toContainEqual({
      level: 'warn',
      message: 'matching took long correlationId=logged-id',
      context: 'Orders',
    });
    const refusal = logs.find((entry) => entry.level === 'error' && entry.message.includes('ECHO'));
    expect(refusal?.message).toMatch(
      /^orders: the Redis ACL user may not run ECHO.* correlationId=refused-id$/,
    );
  });
});

describe('CorrelationModule options', () => {
  it.each(HTTP_ADAPTERS)(
    'with responseHeader false and trustIncoming false on %s: no header, own ids',
    async (adapter) => {
      const app = await startApp(adapter, { responseHeader: false, trustIncoming: false });
      try {
        const response = await request(app.getHttpServer())
          .get('/correlation/id')
          .set(CORRELATION_ID_HEADER, 'client-chosen')
          .set('traceparent', TRACEPARENT)
          .expect(200);
        expect(response.body.id).toMatch(GENERATED);
        expect(response.body.id).not.toBe(TRACE_ID);
        expect(response.headers[CORRELATION_ID_HEADER]).toBeUndefined();
      } finally {
        await app.close();
      }
    },
  );

  it('fails at startup naming a bad option', async () => {
    const compiling = Test.createTestingModule({
      imports: [CorrelationModule.forRoot({ responseHeader: 'yes' as unknown as boolean })],
    }).compile();
    await expect(compiling).rejects.toThrow(CorrelationOptionsError);
    await expect(
      Test.createTestingModule({
        imports: [CorrelationModule.forRoot({ header: 'x-id' } as unknown as CorrelationModuleOptions)],
      }).compile(),
    ).rejects.toThrow('CorrelationModule option "header" is not an option');
  });
});

describe('runWithCorrelation', () => {
  it('sets the id for the callback and what it awaits, and nothing outside it', async () => {
    expect(currentCorrelationId()).toBeUndefined();
    const seen = await runWithCorrelation('job-42', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentCorrelationId();
    });
    expect(seen).toBe('job-42');
    expect(currentCorrelationId()).toBeUndefined();
  });

  it('refuses an id that could split a log line', () => {
    expect(() => runWithCorrelation('line\nbreak', () => undefined)).toThrow(InvalidCorrelationIdError);
    expect(() => runWithCorrelation('', () => undefined)).toThrow(InvalidCorrelationIdError);
  });
});
