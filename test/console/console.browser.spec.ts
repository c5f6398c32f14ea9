// The console page in a real browser (Chromium via playwright-core) against a real Nest app on a
// real Redis: what a person sees and clicks, end to end, with the page's console, uncaught errors
// and CSP violations all required to stay empty.

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService } from '@redkit/cache';
import { ConsoleModule } from '@redkit/console';
import { LockModule, LockService } from '@redkit/lock';
import {
  EventBus,
  MessagingModule,
  StreamHandler,
  StreamProducer,
  type StreamMessage,
} from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { OrderBookModule, OrderBookStore } from '@redkit/orderbook';
import { RateLimitModule, RateLimiterService } from '@redkit/rate-limit';
import { RedisModule } from '@redkit/redis';
import { Redis } from 'ioredis';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';

import { eventually, RedisServer } from '../harness/index.js';
import {
  ARTIFACTS_DIR,
  launchChromium,
  REPO_ROOT,
  screenshot,
  shippedScriptSize,
  watchedPage,
  type WatchedPage,
} from './browser-support.js';

const KEY_PREFIX = 'shop';
const SYMBOL = 'BTC-USD';
const CONSOLE_API_KEY = 'browser-test-console-key';

/** Releases the settlement handler's entries, which otherwise stay pending (delivered, not acked). */
let openGate: () => void = () => {};
const gate = new Promise<void>((resolve) => (openGate = resolve));

@Injectable()
class ShopHandlers {
  /** Ids of `invoices` entries as delivered, one per delivery. */
  readonly invoiceDeliveries: string[] = [];

  @StreamHandler('orders', 'billing', { blockMs: 100, consumer: 'biller-1' })
  async bill(): Promise<void> {}

  @StreamHandler('payments', 'settlement', { blockMs: 100, consumer: 'settler-1', claimIdleMs: 600_000 })
  async settle(): Promise<void> {
    await gate;
  }

  /** Steady traffic for the charts: a few ms of work, and every seventh entry fails once. */
  @StreamHandler('shipments', 'tracking', { blockMs: 100, consumer: 'tracker-1', retryDelayMs: 20 })
  async track(message: StreamMessage<{ n: number }>): Promise<void> {
    await sleep(2 + (message.data.n % 5) * 4);
    if (message.data.n % 7 === 0 && message.deliveries === 1) throw new Error('carrier API timed out');
  }

  @StreamHandler('invoices', 'mailer', {
    blockMs: 100,
    consumer: 'mailer-1',
    maxDeliveries: 2,
    retryDelayMs: 20,
  })
  async mail(message: StreamMessage<{ invoice: string }>): Promise<void> {
    this.invoiceDeliveries.push(message.data.invoice);
    throw new Error('SMTP 554: poisoned invoice');
  }
}

async function startApp(
  redisUrl: string,
  adapter: 'fastify' | 'express',
  imports: unknown[],
  providers: Type[] = [],
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: imports as Type[],
    providers,
  }).compile();
  const app = moduleRef.createNestApplication(
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    {
      logger: false,
    },
  );
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}` };
}

describe('the console page in Chromium', () => {
  let redis: RedisServer;
  let client: Redis;
  let operate: { app: INestApplication; url: string };
  let readOnly: { app: INestApplication; url: string };
  let signIn: { app: INestApplication; url: string };
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;
  const opened: WatchedPage[] = [];
  let traffic: ReturnType<typeof setInterval> | undefined;
  const measurements: Record<string, unknown> = {};

  const streamKey = (stream: string) => operate.app.get(StreamProducer).keyOf(stream);
  const publish = (stream: string, data: object) =>
    operate.app.get(StreamProducer).publish(stream, `${stream}.created`, data);
  const row = (selector: string) => page.locator(selector);

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    const common = [
      RedisModule.forRoot({ url: redis.url, keyPrefix: KEY_PREFIX, serverMetrics: { intervalMs: 1_000 } }),
      MetricsModule.forRoot({ defaultMetrics: false }),
      MessagingModule.forRoot({ consumers: { blockMs: 100 } }),
    ];
    operate = await startApp(
      redis.url,
      'fastify',
      [
        ...common,
        CacheModule.forRoot({ ttlMs: 60_000, namespaces: { users: {} } }),
        RateLimitModule.forRoot({}),
        LockModule.forRoot({ ttlMs: 60_000 }),
        OrderBookModule.forRoot({ symbols: { [SYMBOL]: { tickSize: '0.01' } } }),
        ConsoleModule.forRoot({ mode: 'operate', production: true }),
      ],
      [ShopHandlers],
    );
    readOnly = await startApp(redis.url, 'express', [
      ...common,
      ConsoleModule.forRoot({ mode: 'read-only' }),
    ]);
    signIn = await startApp(redis.url, 'fastify', [
      RedisModule.forRoot({ url: redis.url, keyPrefix: KEY_PREFIX }),
      MetricsModule.forRoot({ defaultMetrics: false }),
      ConsoleModule.forRoot({ apiKey: CONSOLE_API_KEY }),
    ]);

    // orders: 7 entries; billing reads them all, reporting (created by hand, never read) lags 7.
    for (let n = 0; n < 7; n++) await publish('orders', { order: `o-${n}` });
    await client.xgroup('CREATE', streamKey('orders'), 'reporting', '0');
    // Two earlier poisoned invoices: the dead letters the page starts with.
    for (const invoice of ['inv-11', 'inv-12']) await publish('invoices', { invoice });
    // Some of everything else, so every view has something to show.
    await operate.app.get(OrderBookStore).saveSnapshot(SYMBOL, {
      sequence: 1,
      bids: [
        { price: '100', quantity: '1.5' },
        { price: '99.5', quantity: '3' },
        { price: '99.25', quantity: '0.8' },
        { price: '99', quantity: '5.2' },
      ],
      asks: [
        { price: '100.75', quantity: '2' },
        { price: '101', quantity: '0.4' },
        { price: '101.5', quantity: '4.1' },
        { price: '102', quantity: '1' },
      ],
    });
    await operate.app.get(LockService).tryAcquire('nightly-report', { ttlMs: 60_000 });
    const limiter = operate.app.get(RateLimiterService);
    for (let n = 0; n < 6; n++)
      await limiter.consume('client-42', { name: 'login', limit: 3, windowMs: 60_000 });
    const cache = operate.app.get(CacheService);
    await cache.getOrSet('user:1', async () => ({ name: 'Ada' }), { namespace: 'users' });
    for (let n = 0; n < 3; n++) await cache.get('user:1', { namespace: 'users' });
    await cache.get('user:2', { namespace: 'users' });

    let shipment = 0;
    traffic = setInterval(() => void publish('shipments', { n: shipment++ }).catch(() => undefined), 100);

    browser = await launchChromium();
    watched = await watchedPage(browser);
    opened.push(watched);
    page = watched.page;
  });

  afterEach(() => {
    for (const { problems } of opened) expect(problems).toEqual([]);
  });

  afterAll(async () => {
    clearInterval(traffic);
    openGate();
    await browser?.close();
    await operate?.app.close();
    await readOnly?.app.close();
    await signIn?.app.close();
    client?.disconnect();
    await redis?.stop();
    await writeFile(
      join(ARTIFACTS_DIR, 'measurements.json'),
      `${JSON.stringify(measurements, null, 2)}\n`,
    ).catch(() => undefined);
  });

  it('lists every stream with its length and each group’s lag', async () => {
    await page.goto(`${operate.url}/console#/streams`);
    await page.locator('#live-status[data-state="live"]').waitFor();
    const orders = row('tr.stream-row[data-stream="orders"]');
    await orders.waitFor();
    await eventually(async () => {
      expect(await orders.locator('[data-col="length"]').textContent()).toBe('7');
      expect(
        await row('tr[data-stream="orders"][data-group="reporting"] [data-col="lag"]').textContent(),
      ).toBe('7');
      expect(await row('tr[data-stream="orders"][data-group="billing"] [data-col="lag"]').textContent()).toBe(
        '0',
      );
      expect(
        await row('tr[data-stream="orders"][data-group="billing"] [data-col="pending"]').textContent(),
      ).toBe('0');
    });
    // A new entry reaches the list by push: length 8, reporting lags 8.
    await publish('orders', { order: 'o-7' });
    await eventually(async () => {
      expect(await orders.locator('[data-col="length"]').textContent()).toBe('8');
      expect(
        await row('tr[data-stream="orders"][data-group="reporting"] [data-col="lag"]').textContent(),
      ).toBe('8');
    }, 5_000);
  });

  it('shows a pending entry, and no longer once it is acknowledged from the page', async () => {
    const id = await publish('payments', { payment: 'p-1' });
    await page.goto(`${operate.url}/console#/streams/payments`);
    const entry = row(`tr[data-id="${id}"]`);
    await entry.waitFor({ timeout: 5_000 });
    expect(await entry.locator('[data-col="consumer"]').textContent()).toBe('settler-1');
    await entry.getByRole('button', { name: `Ack ${id}` }).click();
    await entry.waitFor({ state: 'detached', timeout: 5_000 });
    const pending = (await client.xpending(streamKey('payments'), 'settlement')) as [number];
    expect(pending[0]).toBe(0);
  });

  it('claims a pending entry to another consumer, from the keyboard', async () => {
    const id = await publish('payments', { payment: 'p-2' });
    const entry = row(`tr[data-id="${id}"]`);
    await entry.waitFor({ timeout: 5_000 });
    await entry.getByRole('button', { name: `Claim… ${id}` }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('To consumer').fill('rescuer');
    await page.keyboard.press('Enter');
    await eventually(async () =>
      expect(await entry.locator('[data-col="consumer"]').textContent()).toBe('rescuer'),
    );
    const [detail] = (await client.xpending(streamKey('payments'), 'settlement', '-', '+', 10)) as [
      string,
      string,
    ][];
    expect(detail?.[0]).toBe(id);
    expect(detail?.[1]).toBe('rescuer');
  });

  it('deletes a pending entry on production only once the stream’s name is typed', async () => {
    expect(await page.locator('.badge.production').textContent()).toBe('production');
    const id = await publish('payments', { payment: 'p-3' });
    const entry = row(`tr[data-id="${id}"]`);
    await entry.waitFor();
    await entry.getByRole('button', { name: `Delete… ${id}` }).click();
    const dialog = page.getByRole('dialog');
    const confirm = dialog.getByRole('button', { name: 'Delete' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type payments to confirm/).fill('payment');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type payments to confirm/).fill('payments');
    await confirm.click();
    await entry.waitFor({ state: 'detached' });
    const ids = (await client.xrange(streamKey('payments'), '-', '+')).map(([entryId]) => entryId);
    expect(ids).not.toContain(id);
  });

  it('shows an entry’s priority lane in the streams list and pending entries, and acks it on that lane', async () => {
    const id = await operate.app
      .get(StreamProducer)
      .publish('payments', 'payments.created', { payment: 'p-urgent' }, { priority: 'high' });
    await page.goto(`${operate.url}/console#/streams`);
    const highLength = row('tr.stream-row[data-stream="payments"] [data-col="length"] [data-lane="high"]');
    await eventually(async () => expect(await highLength.textContent()).toBe('high 1'));
    await page.goto(`${operate.url}/console#/streams/payments`);
    const entry = row(`tr[data-id="${id}"][data-priority="high"]`);
    await entry.waitFor({ timeout: 5_000 });
    expect(await entry.locator('[data-col="lane"]').textContent()).toBe('high');
    const lanes = row('.lanes-table tr[data-lane="high"] [data-col="length"]');
    await eventually(async () => expect(await lanes.textContent()).toBe('1'));
    await screenshot(page, 'priority-lanes');
    await entry.getByRole('button', { name: `Ack ${id} high` }).click();
    await entry.waitFor({ state: 'detached', timeout: 5_000 });
    const pending = (await client.xpending(`${streamKey('payments')}:high`, 'settlement')) as [number];
    expect(pending[0]).toBe(0);
  });

  it('shows a poisoned message in dead letters and delivers it again on replay', async () => {
    const handlers = operate.app.get(ShopHandlers);
    const id = await publish('invoices', { invoice: 'inv-13' });
    await page.goto(`${operate.url}/console#/dead-letters/invoices`);
    const letter = row(`tr[data-original-id="${id}"]`);
    await letter.waitFor({ timeout: 10_000 });
    expect(await letter.textContent()).toContain('SMTP 554: poisoned invoice');
    await screenshot(page, 'dead-letters');
    const deliveries = handlers.invoiceDeliveries.filter((invoice) => invoice === 'inv-13').length;
    expect(deliveries).toBe(2);
    await letter.getByRole('button', { name: /^Replay / }).click();
    await page.getByRole('heading', { name: 'Replay report' }).waitFor();
    expect(await page.locator('.report').textContent()).toContain('1 replayed, 0 failed');
    // Delivered again (and, still poisoned, dead-lettered again).
    await eventually(() =>
      expect(handlers.invoiceDeliveries.filter((invoice) => invoice === 'inv-13').length).toBeGreaterThan(2),
    );
  });

  it('shows a published event in the live tail within a second', async () => {
    await page.goto(`${operate.url}/console#/events`);
    await page.locator('#live-status[data-state="live"]').waitFor();
    await page.locator('.summary').filter({ hasText: 'events shown' }).waitFor();
    const published = operate.app.get(EventBus).publish('audit.checked', { by: 'browser-test' });
    await page.locator('.tail li[data-type="audit.checked"]').waitFor({ timeout: 1_000 });
    await published;
    await screenshot(page, 'live-tail');
  });

  it('redraws the order-book ladder after an order is written', async () => {
    await page.goto(`${operate.url}/console#/orderbook/${SYMBOL}`);
    await row('tr.bid[data-price="100"]').waitFor();
    expect(await row('tr.bid[data-price="100.5"]').count()).toBe(0);
    await operate.app.get(OrderBookStore).applyDelta(SYMBOL, {
      sequence: 2,
      bids: [{ price: '100.5', quantity: '0.25' }],
      asks: [],
    });
    await row('tr.bid[data-price="100.5"]').waitFor({ timeout: 3_000 });
    await screenshot(page, 'orderbook');
  });

  it('falls back to polling when the live channel drops, and says so', async () => {
    const dropped = await watchedPage(browser);
    await dropped.page.route('**/console/api/live', (route) => route.abort('connectionrefused'));
    await dropped.page.goto(`${operate.url}/console#/streams`);
    await dropped.page.getByText('live updates paused: polling').waitFor();
    const orders = dropped.page.locator('tr.stream-row[data-stream="orders"] [data-col="length"]');
    await eventually(async () => expect(await orders.textContent()).toBe('8'));
    await publish('orders', { order: 'o-8' });
    await eventually(async () => expect(await orders.textContent()).toBe('9'), 6_000);
    await dropped.context.close();
    // The refused live channel is the one error this page may log.
    expect(dropped.problems.filter((problem) => !problem.includes('/console/api/live'))).toEqual([]);
  });

  it('renders every view without errors (screenshots in artifacts/console)', async () => {
    // Each view, with something of this app's own in it.
    for (const [view, name, shows] of [
      ['streams', 'streams', 'tr.group-row[data-stream="shipments"][data-group="tracking"]'],
      ['streams/shipments', 'stream-detail', 'tr[data-consumer="tracker-1"]'],
      ['dead-letters', 'dead-letter-streams', 'tr[data-stream="invoices"]'],
      ['throughput/shipments', 'throughput', 'tr[data-stream="shipments"]'],
      ['locks', 'locks', 'tr[data-resource="nightly-report"]'],
      ['limits', 'rate-limits', 'tr[data-limit="login"]'],
      ['cache', 'cache', 'tr[data-namespace="users"]'],
      ['redis', 'redis', 'tr[data-node]'],
    ] as const) {
      await page.goto(`${operate.url}/console#/${view}`);
      await page.locator(`main ${shows}`).first().waitFor();
      await page.locator('main [aria-busy="true"]').waitFor({ state: 'detached' });
      await screenshot(page, name, view !== 'streams');
    }
    const phone = await watchedPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true });
    opened.push(phone);
    await phone.page.goto(`${operate.url}/console#/streams`);
    await phone.page.locator('tr.stream-row[data-stream="orders"]').waitFor();
    await screenshot(phone.page, 'phone-streams');
    await phone.context.close();
  });

  it('shows no action in read-only mode, and the API refuses them with 403', async () => {
    const viewer = await watchedPage(browser);
    opened.push(viewer);
    await viewer.page.goto(`${readOnly.url}/console#/streams/payments`);
    await viewer.page.locator('tr[data-consumer="rescuer"][data-id]').waitFor({ timeout: 5_000 });
    await viewer.page.goto(`${readOnly.url}/console#/dead-letters/invoices`);
    await viewer.page.locator('tr[data-original-id]').first().waitFor({ timeout: 5_000 });
    expect(
      await viewer.page.getByRole('button', { name: /Ack|Claim|Delete|Replay|Sweep|Evict/ }).count(),
    ).toBe(0);
    expect(await viewer.page.locator('.badge').first().textContent()).toBe('read-only');
    await viewer.context.close();

    const pending = (await client.xpending(streamKey('payments'), 'settlement', '-', '+', 10)) as [string][];
    const response = await fetch(
      `${readOnly.url}/console/api/streams/payments/groups/settlement/pending/ack`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ids: [pending[0]?.[0]] }),
      },
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toBe('console is read-only');
  });

  it('asks for the API key, and signs out', async () => {
    expect((await fetch(`${signIn.url}/console/api/redis`)).status).toBe(401);
    const visitor = await watchedPage(browser);
    opened.push(visitor);
    await visitor.page.goto(`${signIn.url}/console`);
    await visitor.page.getByLabel('API key').fill(CONSOLE_API_KEY);
    await visitor.page.getByRole('button', { name: 'Sign in' }).click();
    await visitor.page.getByRole('heading', { name: 'Redis' }).waitFor();
    await visitor.page.locator('#live-status[data-state="live"]').waitFor();
    await visitor.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await visitor.page.getByLabel('API key').waitFor();
    // Everywhere: a second browser's session ends too, once this one confirms.
    const other = await watchedPage(browser);
    opened.push(other);
    await other.page.goto(`${signIn.url}/console`);
    for (const page of [visitor.page, other.page]) {
      await page.getByLabel('API key').fill(CONSOLE_API_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Redis' }).waitFor();
    }
    // The other browser leaves the page first, so that none of its polls meets the 401 meanwhile.
    await other.page.goto('about:blank');
    visitor.page.once('dialog', (dialog) => void dialog.accept());
    await visitor.page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await visitor.page.getByLabel('API key').waitFor();
    await other.page.goto(`${signIn.url}/console`);
    await other.page.getByLabel('API key').waitFor();
    await other.context.close();
    await visitor.context.close();
  });

  it('refuses a cross-site POST', async () => {
    const response = await fetch(`${operate.url}/console/api/cache/evict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'cross-site' },
      body: JSON.stringify({ key: 'user:1', namespace: 'users' }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toBe('cross-site request refused');
  });

  it('draws 50 streams (first render and script size measured, not asserted)', async () => {
    const { streams } = (await (await fetch(`${operate.url}/console/api/streams`)).json()) as {
      streams: unknown[];
    };
    for (let n = streams.length; n < 50; n++) {
      const stream = `bulk-${String(n).padStart(2, '0')}`;
      await publish(stream, { n });
      await client.xgroup('CREATE', streamKey(stream), 'workers', '0');
    }
    const fresh = await watchedPage(browser);
    opened.push(fresh);
    await fresh.page.goto(`${operate.url}/console#/streams`);
    await eventually(async () => expect(await fresh.page.locator('tr.stream-row').count()).toBe(50), 5_000);
    measurements.firstRenderMs50Streams = await fresh.page.evaluate(
      `Math.round(performance.getEntriesByName('redkit-console:first-render')[0]?.startTime ?? -1)`,
    );
    measurements.script = await shippedScriptSize(join(REPO_ROOT, 'libs/console/dist/ui'));
    expect(measurements.firstRenderMs50Streams).toBeGreaterThan(0);
    await fresh.context.close();
  });
});
