import 'reflect-metadata';

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

import { AppModule } from './app.module.js';

// ADAPTER=express|fastify, REDIS_URL, KEY_PREFIX; listens on a free loopback port and prints it.
async function bootstrap(): Promise<void> {
  const adapter = process.env.ADAPTER ?? 'express';
  const module = AppModule.forRoot(
    process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    process.env.KEY_PREFIX ?? 'consumer',
  );
  const logger = process.env.APP_LOGS === '1' ? undefined : (['error'] as ['error']);
  let app: INestApplication;
  if (adapter === 'fastify') app = await NestFactory.create(module, new FastifyAdapter(), { logger });
  else if (adapter === 'express') app = await NestFactory.create(module, { logger });
  else throw new Error(`ADAPTER must be express or fastify, not ${adapter}`);
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  console.log(JSON.stringify({ listening: address.port, adapter }));
}

void bootstrap();
