import type { INestApplication } from '@nestjs/common';

import { HTTP_ADAPTERS, type AppConfig, type HttpAdapterName } from '../../src/app.config.js';
import { createApp } from '../../src/app.factory.js';

/** The adapters every e2e suite runs on: `describe.each(HTTP_ADAPTERS)('... on %s', (httpAdapter) => ...)`. */
export { HTTP_ADAPTERS, type HttpAdapterName };

/** The adapter that is not `adapter`: a second instance runs on it, so the two meet in one test. */
export function otherAdapter(adapter: HttpAdapterName): HttpAdapterName {
  return adapter === 'fastify' ? 'express' : 'fastify';
}

/** Admin key of the test apps. */
export const TEST_ADMIN_KEY = 'test-admin-key-0001';

/** The API on `redisUrl`, initialised (not listening), with the test admin key; Fastify unless overridden. */
export async function startTestApp(
  redisUrl: string,
  overrides: Partial<AppConfig> = {},
): Promise<INestApplication> {
  const app = await createApp(
    { redisUrl, host: '127.0.0.1', port: 0, adminApiKey: TEST_ADMIN_KEY, ...overrides },
    false,
  );
  return app;
}

let nextClient = 1;

/** A fresh client address (X-Forwarded-For, with `trustProxy`), so rate limits of tests do not mix. */
export function clientAddress(): string {
  const n = nextClient++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
