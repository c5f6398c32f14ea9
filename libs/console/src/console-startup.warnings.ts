import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';

import { CONSOLE_EXTRAS, CONSOLE_LOG_CONTEXT, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import type { ResolvedConsoleExtras, ResolvedConsoleOptions } from './console-options.validator.js';

/**
 * Says once, at startup, when a console may change production data with no auth of its own (no
 * `guard`, no `apiKey`): only the app's global guards then stand before it. Not an error, since an
 * app may well protect every route globally.
 */
@Injectable()
export class ConsoleStartupWarnings implements OnApplicationBootstrap {
  constructor(
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Inject(CONSOLE_EXTRAS) private readonly extras: ResolvedConsoleExtras,
  ) {}

  onApplicationBootstrap(): void {
    const { options, extras } = this;
    if (extras.guard !== undefined || options.apiKey !== undefined) return;
    if (options.mode === 'operate' && options.production) {
      new Logger(CONSOLE_LOG_CONTEXT).warn(
        `the console at ${extras.path} may change production data and has neither a guard nor an apiKey: only the app's global guards protect it`,
      );
    }
  }
}
