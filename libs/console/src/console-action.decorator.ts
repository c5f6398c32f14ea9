import { SetMetadata } from '@nestjs/common';

import type { ConsoleAction } from './console-api.types.js';
import { CONSOLE_ACTION_METADATA, CONSOLE_PUBLIC_METADATA } from './console.constants.js';

/**
 * When an action needs the typed confirmation on a production console: `always`, only for a
 * `bulk` request (a body with `all`), or `never`.
 */
export type ConfirmationRule = 'always' | 'bulk' | 'never';

/** What `@ConsoleAction` records on a route. */
export interface ConsoleActionMetadata {
  action: ConsoleAction;
  confirm: ConfirmationRule;
}

/**
 * Marks a route as a console action: the console's guard refuses it in read-only mode, when denied
 * or on a read-only stream, and asks for the confirmation on production; the audit interceptor
 * logs and publishes its outcome. Metadata only: the behaviour is in ConsoleGuard and
 * ConsoleAuditInterceptor.
 */
export function ConsoleActionRoute(
  action: ConsoleAction,
  confirm: ConfirmationRule = 'never',
): MethodDecorator {
  return SetMetadata(CONSOLE_ACTION_METADATA, { action, confirm } satisfies ConsoleActionMetadata);
}

/**
 * Marks a route that needs no API-key session (the page, its assets, the session, login, logout).
 * `metered: false` also leaves it out of the per-client request budget (the page and its assets,
 * which a browser fetches together); login stays metered, which slows down guessing.
 */
export function ConsolePublic(options: { metered?: boolean } = {}): MethodDecorator {
  return SetMetadata(CONSOLE_PUBLIC_METADATA, options.metered === false ? 'unmetered' : 'metered');
}
