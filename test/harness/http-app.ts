import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';

/** The Nest HTTP adapters every lib's HTTP tests run on: `describe.each(HTTP_ADAPTERS)('... on %s', ...)`. */
export const HTTP_ADAPTERS = ['fastify', 'express'] as const;
export type HttpAdapterName = (typeof HTTP_ADAPTERS)[number];

/**
 * The testing module as an HTTP app on `adapter`, initialised and ready for supertest
 * (`request(app.getHttpServer())`): Fastify only serves its routes once `ready()` has resolved.
 * `beforeInit` runs before `init()`, for `app.use(...)` and the like.
 */
export async function createHttpApp(
  moduleRef: TestingModule,
  adapter: HttpAdapterName,
  options: NestApplicationOptions = {},
  beforeInit?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const app = moduleRef.createNestApplication(
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    options,
  );
  try {
    beforeInit?.(app);
    await app.init();
    if (adapter === 'fastify')
      await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}
