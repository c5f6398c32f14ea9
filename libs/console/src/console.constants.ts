/** Where the console is mounted when `forRoot` is not given a `path`. */
export const CONSOLE_DEFAULT_PATH = '/console';

/** Injection token of the options given to `ConsoleModule.forRoot` / `forRootAsync`. */
export const CONSOLE_MODULE_OPTIONS = 'REDKIT:CONSOLE:MODULE_OPTIONS';

/** @internal Injection token of the options once validated (`ResolvedConsoleOptions`). */
export const CONSOLE_RESOLVED_OPTIONS = 'REDKIT:CONSOLE:RESOLVED_OPTIONS';

/** @internal Injection token of the Redis connection the console reads. */
export const CONSOLE_CONNECTION = 'REDKIT:CONSOLE:CONNECTION';

/** @internal Injection token of the module-level settings (`ConsoleExtras`, validated). */
export const CONSOLE_EXTRAS = 'REDKIT:CONSOLE:EXTRAS';

/** @internal Injection token of the OpenAPI documentation step (true when @nestjs/swagger was there). */
export const CONSOLE_OPENAPI = 'REDKIT:CONSOLE:OPENAPI';

/** Handler metadata written by `@ConsoleAction`: the action a route performs. */
export const CONSOLE_ACTION_METADATA = 'REDKIT:CONSOLE:ACTION';

/** Handler metadata written by `@ConsolePublic`: routes reachable without the API-key session. */
export const CONSOLE_PUBLIC_METADATA = 'REDKIT:CONSOLE:PUBLIC';

/** The session cookie of the built-in API-key auth. */
export const CONSOLE_SESSION_COOKIE = 'redkit_console';

/** The request header that carries the CSRF token of an API-key session. */
export const CONSOLE_CSRF_HEADER = 'x-csrf-token';

/** The event published on the event bus for every audited action. */
export const CONSOLE_ACTION_EVENT = 'console.action';

/** Points kept by the throughput and rate-limit ring buffers, one per second: five minutes. */
export const RING_POINTS = 300;

/** How often the ring buffers sample redkit's counters. */
export const SAMPLE_INTERVAL_MS = 1_000;

/** The logger context of the audit lines. */
export const CONSOLE_LOG_CONTEXT = 'Console';
