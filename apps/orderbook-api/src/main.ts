import { Logger } from '@nestjs/common';

import { AppConfigError, readAppConfig } from './app.config.js';
import { createApp } from './app.factory.js';

async function main(): Promise<void> {
  const config = readAppConfig();
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  new Logger('orderbook-api').log(`listening on ${url}: try ${url}/health, ${url}/metrics and ${url}/docs`);
}

main().catch((error: unknown) => {
  // A startup failure a user can fix (bad setting, Redis unreachable) is one line, not a stack.
  const known = error instanceof AppConfigError || (error instanceof Error && error.name.startsWith('Redis'));
  console.error(
    `orderbook-api failed to start: ${known ? (error as Error).message : String((error as Error)?.stack ?? error)}`,
  );
  process.exit(1);
});
