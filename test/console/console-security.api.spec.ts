import { get, type IncomingMessage } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ConsoleModule, type ConsoleAuditRecord } from '@redkit/console';
import { EventBus, MessagingModule, StreamProducer, type EventEnvelope } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { RedisModule } from '@redkit/redis';
import { Redis } from 'ioredis';
import { type Observable, tap } from 'rxjs';
import request from 'supertest';

import {
  captureLogs,
  createHttpApp,
  eventually,
  HTTP_ADAPTERS,
  PlaceholderConnectionModule,
  sharedAdminRedisUrl,
  sharedRedisUrl,
  uniquePrefix,
  type HttpAdapterName,
} from '../harness/index.js';
import { closeConsoleApp, deleteConsoleKeys } from './console-test-app.js';

const API_KEY = 'correct-horse-battery-staple';
/** Shared by the instances of one test, as behind a load balancer. */
const SESSION_SECRET = 'the-same-secret-on-every-instance-of-the-app';

/** The app's own auth, as a guard: `X-Admin: <name>` is the user. */
@Injectable()
class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: unknown }>();
    const name = request.headers['x-admin'];
    if (name === undefined) return false;
    request.user = { id: name };
    return true;
  }
}

/** An app-wide interceptor: proves the console's routes go through the app's own pipeline. */
@Injectable()
class StampInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<{
      header?: (name: string, value: string) => unknown;
      setHeader?: (name: string, value: string) => unknown;
      headersSent?: boolean;
      raw?: { headersSent?: boolean };
    }>();
    return next.handle().pipe(
      tap(() => {
        // A live stream's events come after its headers went out.
        if ((response.raw ?? response).headersSent === true) return;
        if (typeof response.header === 'function') response.header('x-app-interceptor', 'ran');
        else response.setHeader?.('x-app-interceptor', 'ran');
      }),
    );
  }
}

async function startApp(
  adapter: HttpAdapterName,
  keyPrefix: string,
  console: Parameters<typeof ConsoleModule.forRoot>[0],
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
      MetricsModule.forRoot({ defaultMetrics: false }),
      MessagingModule.forRoot(),
      ConsoleModule.forRoot(console),
    ],
    providers: [{ provide: APP_INTERCEPTOR, useClass: StampInterceptor }],
  }).compile();
  return createHttpApp(moduleRef, adapter, { logger: false });
}

/** Entries in `stream`, and `count` of them pending to a dead consumer of `group`. */
async function seed(
  app: INestApplication,
  admin: Redis,
  keyPrefix: string,
  stream: string,
  group: string,
  count = 3,
) {
  const producer = app.get(StreamProducer);
  for (let n = 0; n < count; n += 1) await producer.publish(stream, 'thing.happened', { n });
  const key = `${keyPrefix}:messaging:{${stream}}:stream`;
  await admin.xgroup('CREATE', key, group, '0');
  const reply = (await admin.xreadgroup('GROUP', group, 'ghost', 'COUNT', count, 'STREAMS', key, '>')) as [
    string,
    [string, string[]][],
  ][];
  return reply[0]?.[1].map(([id]) => id) ?? [];
}

describe.each(HTTP_ADAPTERS)('the console with its built-in API-key session on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`consolekey${adapter}`);
  let app: INestApplication;
  let admin: Redis;
  let http: ReturnType<typeof request>;
  let pendingIds: string[] = [];
  let ledgerIds: string[] = [];

  beforeAll(async () => {
    admin = new Redis(sharedAdminRedisUrl());
    app = await startApp(adapter, keyPrefix, {
      mode: 'operate',
      apiKey: API_KEY,
      sessionSecret: SESSION_SECRET,
      production: true,
      deny: ['delete-dead-letter'],
      streams: { hide: ['secret.*'], readOnly: ['ledger'] },
      requestsPerSecond: 10_000,
    });
    http = request(app.getHttpServer());
    pendingIds = await seed(app, admin, keyPrefix, 'orders', 'billing', 4);
    ledgerIds = await seed(app, admin, keyPrefix, 'ledger', 'posting', 1);
    await seed(app, admin, keyPrefix, 'secret.keys', 'vault', 1);
  });

  afterAll(async () => {
    await closeConsoleApp(app, keyPrefix);
    admin?.disconnect();
  });

  /** Logs in; the session cookie and the CSRF token. */
  async function login(): Promise<{ cookie: string; csrf: string }> {
    const response = await http
      .post('/console/api/login')
      .set('Content-Type', 'application/json')
      .send({ apiKey: API_KEY })
      .expect(204);
    const setCookie = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
    const cookie = (setCookie[0] ?? '').split(';')[0] as string;
    const session = await http.get('/console/api/session').set('Cookie', cookie).expect(200);
    return { cookie, csrf: session.body.csrfToken };
  }

  it('serves the page with a strict CSP whose nonce is on its one script, new per response', async () => {
    const first = await http.get('/console').expect(200);
    expect(first.headers['content-type']).toMatch(/^text\/html/);
    const csp = first.headers['content-security-policy'] as string;
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toBe(
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    );
    expect(first.headers['x-content-type-options']).toBe('nosniff');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    expect(first.text).toContain(
      `<script type="module" nonce="${nonce}" src="/console/assets/ui/main.js"></script>`,
    );
    expect(first.text).toContain('<link rel="stylesheet" href="/console/assets/console.css">');
    expect(first.text).toContain(
      `<meta name="redkit-console" content='{&quot;base&quot;:&quot;/console&quot;}'>`,
    );
    expect(first.text.match(/<script/g)).toHaveLength(1);
    expect(first.text).toContain('<link rel="icon" href="data:,">');
    const second = await http.get('/console').expect(200);
    expect(second.headers['content-security-policy']).not.toContain(nonce);
    // The app's interceptors run on the console's routes: they are ordinary controllers.
    expect(first.headers['x-app-interceptor']).toBe('ran');
  });

  it('serves the page’s assets from dist/ui, and nothing outside it', async () => {
    const script = await http.get('/console/assets/ui/main.js').expect(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('no-cache');
    const css = await http.get('/console/assets/console.css').expect(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    await http.get('/console/assets/main.js').expect(200);
    for (const path of [
      '/console/assets/..%2F..%2Fpackage.json',
      '/console/assets/ui/..%2Findex.js',
      '/console/assets/%2e%2e%2fconsole-page.js',
      '/console/assets/..%5C..%5Cpackage.json',
      '/console/assets/%2Fetc%2Fpasswd',
      '/console/assets/main.ts',
      '/console/assets/nothing.js',
    ]) {
      await http.get(path).expect(404);
    }
  });

  it('refuses the API without a session, and a wrong key, and logs the refusal', async () => {
    await http.get('/console/api/streams').expect(401);
    const session = await http.get('/console/api/session').expect(200);
    expect(session.body).toMatchObject({ auth: 'api-key', authenticated: false });
    expect(session.body.csrfToken).toBeUndefined();
    const logs = await captureLogs(() =>
      http
        .post('/console/api/login')
        .set('Content-Type', 'application/json')
        .send({ apiKey: 'nope' })
        .expect(401),
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        context: 'Console',
        message: 'anonymous login: refused (wrong API key)',
      }),
    );
    await http.get('/console/api/streams').set('Cookie', 'redkit_console=v1.zzzzzz.forged.mac').expect(401);
  });

  it('exchanges the key for an HttpOnly SameSite=Strict cookie scoped to the console, and a CSRF token', async () => {
    const response = await http
      .post('/console/api/login')
      .set('Content-Type', 'application/json')
      .send({ apiKey: API_KEY })
      .expect(204);
    const setCookie = String(([] as string[]).concat(response.headers['set-cookie'] ?? [])[0]);
    expect(setCookie).toMatch(
      /^redkit_console=v1\.[a-z0-9]+\.[\w-]+\.[\w-]+; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    );
    const { cookie, csrf } = await login();
    const session = await http.get('/console/api/session').set('Cookie', cookie).expect(200);
    expect(session.body).toMatchObject({
      auth: 'api-key',
      authenticated: true,
      mode: 'operate',
      production: true,
    });
    expect(csrf).toMatch(/^[\w-]{43}$/);
    await http.get('/console/api/streams').set('Cookie', cookie).expect(200);
    const logout = await http
      .post('/console/api/logout')
      .set('Cookie', cookie)
      .set('Content-Type', 'application/json')
      .send({})
      .expect(204);
    expect(String(([] as string[]).concat(logout.headers['set-cookie'] ?? [])[0])).toContain('Max-Age=0');
  });

  it('refuses writes without the CSRF token, as non-JSON, or from another site', async () => {
    const { cookie, csrf } = await login();
    const ack = '/console/api/streams/orders/groups/billing/pending/ack';
    const noToken = await http
      .post(ack)
      .set('Cookie', cookie)
      .send({ ids: [pendingIds[0]] })
      .expect(403);
    expect(noToken.body.message).toMatch(/X-CSRF-Token/);
    await http
      .post(ack)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', 'x'.repeat(43))
      .send({ ids: [pendingIds[0]] })
      .expect(403);
    const plain = await http
      .post(ack)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify({ ids: [pendingIds[0]] }))
      .expect(415);
    expect(plain.body.statusCode).toBe(415);
    const crossSite = await http
      .post(ack)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .set('Sec-Fetch-Site', 'cross-site')
      .send({ ids: [pendingIds[0]] })
      .expect(403);
    expect(crossSite.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'cross-site request refused',
    });
    await http
      .post(ack)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ ids: [pendingIds[0]] })
      .expect(200, { acked: 1 });
  });

  it('asks for the stream’s name before a destructive action on production, and audits it', async () => {
    const { cookie, csrf } = await login();
    const remove = '/console/api/streams/orders/groups/billing/pending/delete';
    const unconfirmed = await http
      .post(remove)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ ids: [pendingIds[1]] })
      .expect(400);
    expect(unconfirmed.body.message).toMatch(/^confirm: .*"orders"/);
    const events: EventEnvelope<ConsoleAuditRecord>[] = [];
    await app
      .get(EventBus)
      .subscribe<ConsoleAuditRecord>('console.action', (event) => void events.push(event));
    const logs = await captureLogs(() =>
      http
        .post(remove)
        .set('Cookie', cookie)
        .set('X-CSRF-Token', csrf)
        .send({ ids: [pendingIds[1]], confirm: 'orders' })
        .expect(200, { deleted: 1 }),
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'log',
        context: 'Console',
        message: expect.stringMatching(
          /^api-key delete-pending on stream "orders" group "billing": ok \(.*"ids":\[".*"\].* -> \{"deleted":1\}\)$/,
        ),
      }),
    );
    await eventually(() =>
      expect(events.map((event) => event.data)).toContainEqual(
        expect.objectContaining({
          who: 'api-key',
          action: 'delete-pending',
          stream: 'orders',
          group: 'billing',
          outcome: 'ok',
        }),
      ),
    );
    // The bulk replay is destructive too; a single replay is not.
    const bulk = await http
      .post('/console/api/streams/orders/dead-letters/replay')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ all: { limit: 10 } })
      .expect(400);
    expect(bulk.body.message).toMatch(/^confirm: /);
    await http
      .post('/console/api/streams/orders/dead-letters/replay')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ ids: ['1-1'] })
      .expect(200);
  });

  it('enforces the deny list, read-only streams and hidden streams on the server', async () => {
    const { cookie, csrf } = await login();
    const denied = await http
      .post('/console/api/streams/orders/dead-letters/delete')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ ids: ['1-1'], confirm: 'orders' })
      .expect(403);
    expect(denied.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'action "delete-dead-letter" is denied',
    });
    const readOnly = await http
      .post('/console/api/streams/ledger/groups/posting/pending/ack')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ ids: ledgerIds })
      .expect(403);
    expect(readOnly.body.message).toBe('stream "ledger" is read-only');
    await http.get('/console/api/streams/ledger').set('Cookie', cookie).expect(200);
    const list = await http.get('/console/api/streams').set('Cookie', cookie).expect(200);
    expect(list.body.streams.map((stream: { name: string }) => stream.name).sort()).toEqual([
      'ledger',
      'orders',
    ]);
    await http.get('/console/api/streams/secret.keys').set('Cookie', cookie).expect(404);
    await http.get('/console/api/streams/secret.keys/groups/vault/pending').set('Cookie', cookie).expect(404);
    await http
      .post('/console/api/streams/secret.keys/groups/vault/pending/ack')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ ids: ['1-1'] })
      .expect(404);
    const session = await http.get('/console/api/session').set('Cookie', cookie).expect(200);
    expect(session.body.deny).toEqual(['delete-dead-letter']);
    expect(session.body.readOnlyStreams).toEqual(['ledger']);
  });

  /** Opens the live stream at `url` with `cookie`; `ended` resolves when the server ends it (10 s bound). */
  async function openLive(url: string, cookie: string): Promise<{ ended: Promise<void> }> {
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      get(url, { headers: { Accept: 'text/event-stream', Cookie: cookie } }, resolve).on('error', reject),
    );
    expect(response.statusCode).toBe(200);
    response.resume();
    const ended = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        response.destroy();
        reject(new Error('the live stream outlived its signed-out session by 10 s'));
      }, 10_000);
      response.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { ended };
  }

  /** `POST api/logout` with `cookie` and `body`. */
  function logout(cookie: string, body: object = {}) {
    return http
      .post('/console/api/logout')
      .set('Cookie', cookie)
      .set('Content-Type', 'application/json')
      .send(body);
  }

  it('signs a session out on every instance: a copy of its cookie is refused by another instance, until it would have expired', async () => {
    const other = await startApp(adapter, keyPrefix, {
      mode: 'operate',
      apiKey: API_KEY,
      sessionSecret: SESSION_SECRET,
      requestsPerSecond: 10_000,
    });
    try {
      await other.listen(0, '127.0.0.1');
      const otherHttp = request(other.getHttpServer());
      const { cookie } = await login();
      const kept = await login();
      await otherHttp.get('/console/api/streams').set('Cookie', cookie).expect(200);
      // A live stream the session opened on the other instance ends with it.
      const live = await openLive(
        `${(await other.getUrl()).replace('[::1]', '127.0.0.1')}/console/api/live`,
        cookie,
      );
      const logs = await captureLogs(() => logout(cookie).expect(204));
      await live.ended;
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'log', context: 'Console', message: 'api-key logout: ok' }),
      );
      const refused = await otherHttp.get('/console/api/streams').set('Cookie', cookie).expect(401);
      expect(refused.body.message).toBe('this console session was signed out: log in again');
      await http.get('/console/api/streams').set('Cookie', cookie).expect(401);
      const session = await otherHttp.get('/console/api/session').set('Cookie', cookie).expect(200);
      expect(session.body).toMatchObject({ authenticated: false });
      // Other sessions are untouched.
      await otherHttp.get('/console/api/streams').set('Cookie', kept.cookie).expect(200);
      // What marks it expires with the cookie.
      const id = cookie.split('.')[2] as string;
      const ttl = await admin.pttl(`${keyPrefix}:console:{sessions}:revoked:${id}`);
      expect(ttl).toBeGreaterThan(8 * 3_600_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(8 * 3_600_000);
    } finally {
      await other.close();
    }
  });

  it('signs every session out with "everywhere", and lets the next login in', async () => {
    const first = await login();
    const second = await login();
    const bad = await logout(first.cookie, { everywhere: 'yes' }).expect(400);
    expect(bad.body.message).toBe('"everywhere" must be a boolean, got "yes"');
    await logout('redkit_console=v1.zzzzzz.forged.mac', { everywhere: true }).expect(401);
    await http.get('/console/api/streams').set('Cookie', second.cookie).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 2));
    await logout(first.cookie, { everywhere: true }).expect(204);
    await http.get('/console/api/streams').set('Cookie', second.cookie).expect(401);
    const ttl = await admin.pttl(`${keyPrefix}:console:{sessions}:not-before`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(8 * 3_600_000);
    await new Promise((resolve) => setTimeout(resolve, 2));
    const next = await login();
    await http.get('/console/api/streams').set('Cookie', next.cookie).expect(200);
  });

  it('marks the cookie Secure behind a TLS-terminating proxy that says so, and not over plain HTTP', async () => {
    const setCookie = async (headers: Record<string, string>) => {
      const response = await http
        .post('/console/api/login')
        .set('Content-Type', 'application/json')
        .set(headers)
        .send({ apiKey: API_KEY })
        .expect(204);
      return String(([] as string[]).concat(response.headers['set-cookie'] ?? [])[0]);
    };
    expect(await setCookie({ 'X-Forwarded-Proto': 'https' })).toMatch(/; Secure$/);
    expect(await setCookie({ 'X-Forwarded-Proto': 'https, http' })).toMatch(/; Secure$/);
    expect(await setCookie({ Forwarded: 'for=192.0.2.60;proto=https;by=203.0.113.43' })).toMatch(/; Secure$/);
    expect(await setCookie({ 'X-Forwarded-Proto': 'http' })).not.toMatch(/Secure/);
    expect(await setCookie({})).not.toMatch(/Secure/);
  });
});

describe.each(HTTP_ADAPTERS)('the console behind the app’s own guard, read-only, on %s', (adapter) => {
  const keyPrefix = uniquePrefix(`consoleguard${adapter}`);
  let app: INestApplication;
  let admin: Redis;
  let http: ReturnType<typeof request>;
  let ids: string[] = [];

  beforeAll(async () => {
    admin = new Redis(sharedAdminRedisUrl());
    app = await startApp(adapter, keyPrefix, {
      guard: AdminGuard,
      requestsPerSecond: 2,
      path: '/ops/console',
    });
    http = request(app.getHttpServer());
    ids = await seed(app, admin, keyPrefix, 'orders', 'billing', 2);
  });

  afterAll(async () => {
    await closeConsoleApp(app, keyPrefix);
    admin?.disconnect();
  });

  it('runs the app’s guard on every console route, the page and assets included', async () => {
    await http.get('/ops/console').expect(403);
    await http.get('/ops/console/assets/ui/main.js').expect(403);
    await http.get('/ops/console/api/streams').expect(403);
    const page = await http.get('/ops/console').set('X-Admin', 'alice').expect(200);
    expect(page.text).toContain('src="/ops/console/assets/ui/main.js"');
    const session = await http.get('/ops/console/api/session').set('X-Admin', 'alice').expect(200);
    expect(session.body).toEqual({
      mode: 'read-only',
      production: false,
      deny: [],
      readOnlyStreams: [],
      views: ['streams', 'events', 'redis'],
      auth: 'guard',
      authenticated: true,
    });
  });

  it('refuses every action in read-only mode, naming who tried in the audit log', async () => {
    const logs = await captureLogs(async () => {
      const { body } = await http
        .post('/ops/console/api/streams/orders/groups/billing/pending/ack')
        .set('X-Admin', 'bob')
        .send({ ids })
        .expect(403);
      expect(body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'console is read-only' });
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        context: 'Console',
        message: 'bob ack on stream "orders" group "billing": refused (console is read-only)',
      }),
    );
    expect((await admin.xpending(`${keyPrefix}:messaging:{orders}:stream`, 'billing'))[0]).toBe(2);
  });

  it('answers 429 to a client past its request budget, others unaffected', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 8; n += 1) {
      statuses.push((await http.get('/ops/console/api/streams').set('X-Admin', 'flood')).status);
    }
    expect(statuses).toContain(429);
    await http.get('/ops/console/api/streams').set('X-Admin', 'carol').expect(200);
  });
});

describe('ConsoleModule.forRootAsync', () => {
  const keyPrefix = uniquePrefix('consoleasync');

  afterAll(() => deleteConsoleKeys(keyPrefix));

  it('takes the options from a factory and the path and guard beside it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        MessagingModule.forRoot(),
        ConsoleModule.forRootAsync({
          path: '/admin/console',
          guard: AdminGuard,
          useFactory: async () => ({ mode: 'operate' as const, deny: ['evict' as const] }),
        }),
      ],
    }).compile();
    const app = await createHttpApp(moduleRef, 'fastify', { logger: false });
    try {
      const { body } = await request(app.getHttpServer())
        .get('/admin/console/api/session')
        .set('X-Admin', 'alice')
        .expect(200);
      expect(body).toMatchObject({ mode: 'operate', deny: ['evict'], auth: 'guard' });
      await request(app.getHttpServer()).get('/admin/console/api/session').expect(403);
    } finally {
      await app.close();
    }
  });

  it('fails at startup naming a bad option, and warns of an unguarded operate console on production', async () => {
    const bad = Test.createTestingModule({
      imports: [
        PlaceholderConnectionModule,
        ConsoleModule.forRootAsync({ useFactory: () => ({ maxStreams: 0 }) }),
      ],
    }).compile();
    await expect(bad).rejects.toThrow(
      'console option "maxStreams" must be a whole number from 1 to 10000, got 0',
    );
    expect(() => ConsoleModule.forRoot({ path: '/../up' })).toThrow(
      'console option "path" must be a URL path',
    );

    let app: INestApplication | undefined;
    const logs = await captureLogs(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
          ConsoleModule.forRoot({ mode: 'operate', production: true }),
        ],
      }).compile();
      app = await createHttpApp(moduleRef, 'express', { logger: false });
    });
    await app?.close();
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        context: 'Console',
        message: expect.stringContaining('has neither a guard nor an apiKey'),
      }),
    );
  });
});
