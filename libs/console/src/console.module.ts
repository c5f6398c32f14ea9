import { type DynamicModule, Module } from '@nestjs/common';

import { ConsoleConfigurableModule, CONSOLE_OPTIONS_TYPE } from './console.module-definition.js';

/**
 * The operations console: a page and a JSON API (streams, pending entries, dead letters,
 * throughput, locks, rate limits, caches, the event bus, Redis, order books) served by real Nest
 * controllers under `path`. Read-only unless `mode: 'operate'`. Needs `RedisModule` (the connection
 * named by `connection`); shows each view when its redkit lib is in the app.
 *
 * @example
 * imports: [
 *   RedisModule.forRoot({ url }),
 *   MessagingModule.forRoot(),
 *   ConsoleModule.forRoot({ path: '/ops/console', mode: 'operate', guard: AdminGuard }),
 * ]
 */
@Module({})
export class ConsoleModule extends ConsoleConfigurableModule {
  /** Every option has a default, so `forRoot()` alone is enough (read-only, at `/console`). */
  static override forRoot(options: typeof CONSOLE_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
