import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  type INestApplication,
  type LoggerService,
  Module,
} from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import type { Counter, OpenMetricsContentType } from 'prom-client';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createHttpApp, HTTP_ADAPTERS, type HttpAdapterName } from '../../../test/harness/http-app.js';
import { MetricsModule, MetricsService, type MetricsModuleOptions } from './index.js';

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A provider as a redkit lib would write one: it declares its metric once, through the service. */
@Injectable()
class OrderMetrics {
  readonly placed: Counter<'side'>;

  constructor(metrics: MetricsService) {
    this.placed = metrics.counter({
      name: 'redkit_test_orders_placed_total',
      help: 'Orders placed, by side.',
      labelNames: ['side'],
    });
  }
}

// Does not import MetricsModule: the service reaches it because the module is global by default.
@Module({ providers: [OrderMetrics] })
class OrdersModule {}

@Controller('orders')
class OrdersController {
  @Get()
  list(): string[] {
    return [];
  }
}

@Module({ controllers: [OrdersController] })
class DocumentedModule {}

const silentLogger: LoggerService = { log() {}, error() {}, warn() {} };
const openApps: INestApplication[] = [];

type Imports = NonNullable<Parameters<typeof Module>[0]['imports']>;

async function startAppOn(adapter: HttpAdapterName, ...imports: Imports) {
  const moduleRef = await Test.createTestingModule({ imports }).setLogger(silentLogger).compile();
  const app = await createHttpApp(moduleRef, adapter, { logger: false });
  openApps.push(app);
  return app;
}

const startApp = (...imports: Imports) => startAppOn('fastify', ...imports);

afterEach(async () => {
  await Promise.all(openApps.splice(0).map((app) => app.close()));
});

describe('MetricsModule', () => {
  describe.each(HTTP_ADAPTERS)('GET /metrics on %s', (adapter) => {
    it("answers 200 under prom-client's exact content type with a counter a provider incremented", async () => {
      const app = await startAppOn(adapter, MetricsModule.forRoot({}), OrdersModule);
      app.get(OrderMetrics).placed.inc({ side: 'buy' });
      app.get(OrderMetrics).placed.inc({ side: 'buy' });

      const response = await request(app.getHttpServer()).get('/metrics');

      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
      expect(response.text).toContain('# TYPE redkit_test_orders_placed_total counter');
      expect(response.text).toContain('redkit_test_orders_placed_total{side="buy"} 2');
    });

    it('serves default process metrics unless they are turned off', async () => {
      const withDefaults = await startAppOn(adapter, MetricsModule.forRoot({}));
      const withoutDefaults = await startAppOn(
        adapter,
        MetricsModule.forRoot({ defaultMetrics: false }),
        OrdersModule,
      );

      const on = await request(withDefaults.getHttpServer()).get('/metrics');
      const off = await request(withoutDefaults.getHttpServer()).get('/metrics');

      expect(on.text).toContain('process_cpu_user_seconds_total');
      expect(on.text).toContain('nodejs_heap_size_used_bytes');
      expect(off.text).not.toContain('process_');
      expect(off.text).not.toContain('nodejs_');
      expect(off.text).toContain('redkit_test_orders_placed_total');
    });

    it('adds the default labels to every series', async () => {
      const app = await startAppOn(
        adapter,
        MetricsModule.forRoot({ defaultMetrics: false, defaultLabels: { app: 'orderbook-api' } }),
        OrdersModule,
      );
      app.get(OrderMetrics).placed.inc({ side: 'sell' });

      const response = await request(app.getHttpServer()).get('/metrics');

      expect(response.text).toContain('redkit_test_orders_placed_total{side="sell",app="orderbook-api"} 1');
    });

    it("serves a registry given in the options, under that registry's content type", async () => {
      const registry = new Registry<OpenMetricsContentType>();
      registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      const app = await startAppOn(
        adapter,
        MetricsModule.forRoot({ registry, defaultMetrics: false }),
        OrdersModule,
      );
      app.get(OrderMetrics).placed.inc({ side: 'buy' });

      const response = await request(app.getHttpServer()).get('/metrics');

      expect(app.get(MetricsService).registry).toBe(registry);
      expect(response.headers['content-type']).toBe(
        'application/openmetrics-text; version=1.0.0; charset=utf-8',
      );
      expect(response.text).toContain('redkit_test_orders_placed_total{side="buy"} 1');
      expect(response.text).toContain('# EOF');
    });

    it('is left out of OpenAPI documents', async () => {
      const app = await startAppOn(adapter, MetricsModule.forRoot({}), DocumentedModule);

      const document = SwaggerModule.createDocument(app, new DocumentBuilder().build());

      expect(Object.keys(document.paths)).toEqual(['/orders']);
      expect((await request(app.getHttpServer()).get('/metrics')).status).toBe(200);
    });
  });

  describe('lifecycle', () => {
    // Module definitions are evaluated once, as they are in an application's AppModule.
    const appModule = [MetricsModule.forRoot({}), OrdersModule] as const;

    it('creates, serves and closes the same application twice in one process', async () => {
      for (const round of [1, 2]) {
        const app = await startApp(...appModule);
        app.get(OrderMetrics).placed.inc({ side: 'buy' }, round);
        const response = await request(app.getHttpServer()).get('/metrics');
        expect(response.status).toBe(200);
        // A fresh registry per application: the second does not see the first one's count.
        expect(response.text).toContain(`redkit_test_orders_placed_total{side="buy"} ${round}`);
        await app.close();
        openApps.splice(openApps.indexOf(app), 1);
      }
    });

    it('runs two applications side by side, each with its own registry', async () => {
      const first = await startApp(...appModule);
      const second = await startApp(...appModule);

      expect(first.get(MetricsService).registry).not.toBe(second.get(MetricsService).registry);
      first.get(OrderMetrics).placed.inc({ side: 'buy' });
      expect((await request(second.getHttpServer()).get('/metrics')).text).not.toContain(
        'redkit_test_orders_placed_total{side="buy"}',
      );
    });

    it('lets a second application reuse a registry the first one was given, after it closed', async () => {
      const registry = new Registry();
      const options: MetricsModuleOptions = { registry };
      const first = await startApp(MetricsModule.forRoot(options), OrdersModule);
      first.get(OrderMetrics).placed.inc({ side: 'buy' });
      await first.close();
      openApps.splice(openApps.indexOf(first), 1);

      const second = await startApp(MetricsModule.forRoot(options), OrdersModule);
      const response = await request(second.getHttpServer()).get('/metrics');

      expect(response.text).toContain('process_cpu_user_seconds_total');
      expect(response.text).toContain('# TYPE redkit_test_orders_placed_total counter');
      expect(response.text).not.toContain('redkit_test_orders_placed_total{side="buy"}');
    });
  });

  describe('forRootAsync', () => {
    const LABELS = Symbol('LABELS');

    @Module({ providers: [{ provide: LABELS, useValue: { app: 'from-factory' } }], exports: [LABELS] })
    class SettingsModule {}

    it('takes its options from a factory with injected dependencies', async () => {
      const app = await startApp(
        MetricsModule.forRootAsync({
          imports: [SettingsModule],
          inject: [LABELS],
          useFactory: async (labels: Record<string, string>) => ({
            defaultMetrics: false,
            defaultLabels: labels,
          }),
        }),
        OrdersModule,
      );
      app.get(OrderMetrics).placed.inc({ side: 'buy' });

      const response = await request(app.getHttpServer()).get('/metrics');

      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
      expect(response.text).toContain('redkit_test_orders_placed_total{side="buy",app="from-factory"} 1');
      expect(response.text).not.toContain('process_cpu_user_seconds_total');
    });

    it('takes the path beside the factory', async () => {
      const app = await startApp(
        MetricsModule.forRootAsync({ useFactory: () => ({}), path: 'internal/metrics' }),
        OrdersModule,
      );

      expect((await request(app.getHttpServer()).get('/internal/metrics')).status).toBe(200);
      expect((await request(app.getHttpServer()).get('/metrics')).status).toBe(404);
    });
  });

  describe.each(HTTP_ADAPTERS)('path on %s', (adapter) => {
    it('serves the endpoint on a custom path, and not on /metrics', async () => {
      const app = await startAppOn(adapter, MetricsModule.forRoot({ path: '/ops/prometheus' }));

      const custom = await request(app.getHttpServer()).get('/ops/prometheus');

      expect(custom.status).toBe(200);
      expect(custom.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
      expect(custom.text).toContain('process_cpu_user_seconds_total');
      expect((await request(app.getHttpServer()).get('/metrics')).status).toBe(404);
    });

    it('serves no endpoint with path: false, while MetricsService still works', async () => {
      const app = await startAppOn(adapter, MetricsModule.forRoot({ path: false }), OrdersModule);
      app.get(OrderMetrics).placed.inc({ side: 'buy' });

      expect((await request(app.getHttpServer()).get('/metrics')).status).toBe(404);
      expect(await app.get(MetricsService).metrics()).toContain(
        'redkit_test_orders_placed_total{side="buy"} 1',
      );
    });
  });

  describe('isGlobal: false', () => {
    it('keeps MetricsService to modules that import MetricsModule', async () => {
      await expect(startApp(MetricsModule.forRoot({ isGlobal: false }), OrdersModule)).rejects.toThrow(
        /MetricsService/,
      );
    });
  });

  describe('invalid options', () => {
    it('fails at application creation naming the option given to forRoot', async () => {
      const defaultLabels = { app: 42 } as unknown as Record<string, string>;

      await expect(startApp(MetricsModule.forRoot({ defaultLabels }))).rejects.toThrow(
        'MetricsModule option "defaultLabels.app" must be a string',
      );
    });

    it('fails at application creation naming the option a forRootAsync factory returned', async () => {
      const useFactory = () => ({ defaultMetrics: 'yes' }) as unknown as MetricsModuleOptions;

      await expect(startApp(MetricsModule.forRootAsync({ useFactory }))).rejects.toThrow(
        'MetricsModule option "defaultMetrics" must be a boolean',
      );
    });

    it('refuses an empty path, naming the option', () => {
      expect(() => MetricsModule.forRoot({ path: '' })).toThrow(
        'MetricsModule option "path" must be a non-empty string, or false for no endpoint',
      );
    });
  });
});
