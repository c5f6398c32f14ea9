import { Controller, type Type, UseGuards, UseInterceptors } from '@nestjs/common';

import { ConsoleAuditInterceptor } from './console-audit.interceptor.js';
import { ConsoleDeadLettersController } from './console-dead-letters.controller.js';
import { ConsoleGuard } from './console.guard.js';
import type { ResolvedConsoleExtras } from './console-options.validator.js';
import { ConsolePageController } from './console-page.controller.js';
import { ConsolePendingController } from './console-pending.controller.js';
import { ConsoleSessionController } from './console-session.controller.js';
import { ConsoleStreamsController } from './console-streams.controller.js';
import { ConsoleThroughputController } from './console-throughput.controller.js';
import { ConsoleLocksController } from './console-locks.controller.js';
import { ConsoleLimitsController } from './console-limits.controller.js';
import { ConsoleCacheController } from './console-cache.controller.js';
import { ConsoleEventsController } from './console-events.controller.js';
import { ConsoleRedisController } from './console-redis.controller.js';
import { ConsoleOrderBookController } from './console-orderbook.controller.js';
import { ConsoleLiveController } from './console-live.controller.js';

/** The console's handlers, without a route: each `forRoot` mounts them at its own path. */
export const CONSOLE_CONTROLLERS: readonly Type<object>[] = [
  ConsolePageController,
  ConsoleSessionController,
  ConsoleStreamsController,
  ConsolePendingController,
  ConsoleDeadLettersController,
  ConsoleThroughputController,
  ConsoleLocksController,
  ConsoleLimitsController,
  ConsoleCacheController,
  ConsoleEventsController,
  ConsoleRedisController,
  ConsoleOrderBookController,
  ConsoleLiveController,
];

/**
 * Real Nest controllers for one console: a subclass of each handler class per `forRoot`, with
 * `@Controller(path)`, the app's `guard` (when given) then the console's own guard, and the audit
 * interceptor. Being ordinary controllers, the app's global guards, interceptors, pipes and filters
 * run on them too (unlike middleware mounted beside the framework).
 */
export function createConsoleControllers(extras: ResolvedConsoleExtras): Type<object>[] {
  const guards: Type<object>[] = extras.guard === undefined ? [ConsoleGuard] : [extras.guard, ConsoleGuard];
  return CONSOLE_CONTROLLERS.map((Handlers) => {
    const mounted = { [Handlers.name]: class extends Handlers {} }[Handlers.name] as Type<object>;
    Controller(extras.path)(mounted);
    UseGuards(...guards)(mounted);
    UseInterceptors(ConsoleAuditInterceptor)(mounted);
    return mounted;
  });
}
