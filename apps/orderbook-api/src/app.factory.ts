import 'reflect-metadata';

import type { INestApplication, LoggerService, LogLevel, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

import type { AppConfig, HttpAdapterName } from './app.config.js';
import { AppModule } from './app.module.js';
import { instrumentHttp } from './http/http.metrics.js';

/** Largest request body, the same on both adapters (Express's JSON parser default). */
const BODY_LIMIT_BYTES = 100 * 1024;

/**
 * Builds the API on the configured HTTP adapter (Fastify unless `httpAdapter: 'express'`) with its
 * OpenAPI docs at /docs, initialised and ready to serve (`listen()` or `getHttpServer()`); `main.ts`,
 * the e2e tests and the benchmark share it. `extraControllers` join the app's own (the benchmark's
 * constant handler, which then goes through the same global guards, pipes and filters as the API's
 * routes).
 */
export async function createApp(
  config: AppConfig,
  logger: LoggerService | LogLevel[] | false = ['log', 'warn', 'error'],
  extraControllers: Type[] = [],
): Promise<INestApplication> {
  const adapter: HttpAdapterName = config.httpAdapter ?? 'fastify';
  const app = await NestFactory.create(
    AppModule.forConfig(config, extraControllers),
    adapter === 'express'
      ? new ExpressAdapter()
      : new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, routerOptions: { maxParamLength: 200 } }),
    { logger, abortOnError: false },
  );
  app.enableShutdownHooks();
  instrumentHttp(app, adapter);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('redkit order-book API')
      .setDescription('A small exchange built on redkit: cache, rate limits, locks, order books, messaging.')
      .setVersion('0.1.0')
      .build(),
  );
  // GET /metrics is served by MetricsModule's own controller, which the scan does not describe.
  document.paths['/metrics'] ??= {
    get: {
      tags: ['operations'],
      summary: 'Prometheus metrics: the redkit libraries, the exchange and Node.js',
      responses: {
        '200': {
          description: 'Prometheus text exposition format 0.0.4',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  };
  SwaggerModule.setup('docs', app, document);
  await app.init();
  // Fastify registers the routes Nest gave it when it is ready; supertest and listen() need them.
  if (adapter === 'fastify')
    await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  return app;
}
