import 'reflect-metadata';

import type { INestApplication, LoggerService, LogLevel, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

import type { AppConfig } from './app.config.js';
import { AppModule } from './app.module.js';

/**
 * Builds the API with its OpenAPI docs at /docs; `main.ts`, the e2e tests and the benchmark share it.
 * `extraControllers` join the app's own (the benchmark's constant handler, which then goes through
 * the same global interceptors, pipes and filters as the API's routes).
 */
export async function createApp(
  config: AppConfig,
  logger: LoggerService | LogLevel[] | false = ['log', 'warn', 'error'],
  extraControllers: Type[] = [],
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forConfig(config, extraControllers), {
    logger,
    abortOnError: false,
  });
  app.enableShutdownHooks();
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
  return app;
}
