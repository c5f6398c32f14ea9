import type { INestApplication } from '@nestjs/common';

import type { AppConfig } from '../../src/app.config.js';
import { createApp } from '../../src/app.factory.js';

/** Admin key of the test apps. */
export const TEST_ADMIN_KEY = 'test-admin-key-0001';

/** The API on `redisUrl`, initialised (not listening), with the test admin key. */
export async function startTestApp(
  redisUrl: string,
  overrides: Partial<AppConfig> = {},
): Promise<INestApplication> {
  const app = await createApp(
    { redisUrl, host: '127.0.0.1', port: 0, adminApiKey: TEST_ADMIN_KEY, ...overrides },
    false,
  );
  await app.init();
  return app;
}

let nextClient = 1;

/** A fresh client address (X-Forwarded-For, with `trustProxy`), so rate limits of tests do not mix. */
export function clientAddress(): string {
  const n = nextClient++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
