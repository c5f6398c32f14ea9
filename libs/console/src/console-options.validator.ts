import { randomBytes } from 'node:crypto';

import type { ConsoleAction, ConsoleMode } from './console-api.types.js';
import { CONSOLE_DEFAULT_PATH } from './console.constants.js';
import { ConsoleOptionsError } from './console.errors.js';
import type { ConsoleModuleExtras, ConsoleModuleOptions } from './console-options.interface.js';
import { partitionOfName } from './stream-layout.js';

/** Every action the console knows, in the order the docs list them. */
export const CONSOLE_ACTIONS: readonly ConsoleAction[] = Object.freeze([
  'ack',
  'claim',
  'autoclaim',
  'delete-pending',
  'replay',
  'delete-dead-letter',
  'evict',
]);

/** Default JSON field names whose values are redacted. */
export const DEFAULT_REDACT_FIELDS: readonly string[] = Object.freeze([
  'password',
  'token',
  'secret',
  'authorization',
  'apiKey',
]);

/** A stream rule compiled once: exact names in a set, globs as regular expressions. */
export interface StreamMatcher {
  matches(stream: string): boolean;
  readonly empty: boolean;
}

/** The options with every default applied. */
export interface ResolvedConsoleOptions {
  mode: ConsoleMode;
  apiKey: string | undefined;
  sessionSecret: Buffer;
  sessionTtlMs: number;
  secureCookie: boolean | 'auto';
  production: boolean;
  deny: ReadonlySet<ConsoleAction>;
  hidden: StreamMatcher;
  readOnlyStreams: StreamMatcher;
  /** `streams.readOnly` as given (the page greys out actions on them). */
  readOnlyPatterns: readonly string[];
  /** The connection whose server-metrics collector the Redis view reads; undefined: see RedisView. */
  serverMetricsConnection: string | undefined;
  /** Lower-cased field names. */
  redactFields: ReadonlySet<string>;
  maxPayloadBytes: number;
  tailPerSecond: number;
  deadConsumerMs: number;
  maxStreams: number;
  requestsPerSecond: number;
  maxLiveConnections: number;
}

/** The extras with defaults applied. */
export interface ResolvedConsoleExtras {
  /** `/console`: a leading slash, no trailing one. */
  path: string;
  connection: string;
  guard: ConsoleModuleExtras['guard'];
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function wholeNumber(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConsoleOptionsError(option, `must be a whole number from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

function stringList(option: string, value: unknown, maxLength = 200): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new ConsoleOptionsError(option, `must be an array of strings, got ${show(value)}`);
  return value.map((item, index) => {
    if (typeof item !== 'string' || item.length === 0 || item.length > maxLength) {
      throw new ConsoleOptionsError(
        `${option}[${index}]`,
        `must be a string of 1 to ${maxLength} characters, got ${show(item)}`,
      );
    }
    return item;
  });
}

/** Compiles exact names and `*` globs (any run of characters) into one matcher. */
export function streamMatcher(patterns: readonly string[]): StreamMatcher {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const pattern of patterns) {
    if (!pattern.includes('*')) exact.add(pattern);
    else {
      const source = pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      globs.push(new RegExp(`^${source}$`, 's'));
    }
  }
  const test = (stream: string) => exact.has(stream) || globs.some((glob) => glob.test(stream));
  return {
    empty: exact.size === 0 && globs.length === 0,
    // A partition `<name>#<i>` is governed by its partitioned stream's rule as well as its own.
    matches: (stream) => {
      if (test(stream)) return true;
      const partition = partitionOfName(stream);
      return partition !== null && test(partition.of);
    },
  };
}

/** Validates the module-level settings; throws {@link ConsoleOptionsError} naming the bad one. */
export function resolveConsoleExtras(extras: Partial<ConsoleModuleExtras>): ResolvedConsoleExtras {
  const path = extras.path ?? CONSOLE_DEFAULT_PATH;
  const segments = typeof path === 'string' ? path.split('/').filter((segment) => segment !== '') : [];
  if (
    typeof path !== 'string' ||
    !/^\/?[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*\/?$/.test(path) ||
    segments.some((segment) => segment === '.' || segment === '..')
  ) {
    throw new ConsoleOptionsError(
      'path',
      `must be a URL path of segments of A-Z a-z 0-9 . _ ~ - (such as "/console" or "/ops/console"), got ${show(path)}`,
    );
  }
  const trimmed = `/${path.replace(/^\/+|\/+$/g, '')}`;
  const connection = extras.connection ?? 'default';
  if (typeof connection !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(connection)) {
    throw new ConsoleOptionsError(
      'connection',
      `must be a RedisModule connection name, got ${show(connection)}`,
    );
  }
  const { guard } = extras;
  if (guard !== undefined && typeof guard !== 'function') {
    throw new ConsoleOptionsError('guard', `must be a guard class (CanActivate), got ${show(guard)}`);
  }
  return { path: trimmed, connection, guard };
}

/**
 * Validates `ConsoleModule` options once, at startup. `hasGuard` says whether the module was given
 * the app's guard (which the API key may not be combined with).
 * @throws ConsoleOptionsError naming the option.
 */
export function resolveConsoleOptions(
  options: ConsoleModuleOptions | undefined,
  hasGuard: boolean,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConsoleOptions {
  const given: ConsoleModuleOptions = options ?? {};
  if (given === null || typeof given !== 'object') {
    throw new ConsoleOptionsError('options', `must be an object, got ${show(given)}`);
  }
  const mode = given.mode ?? 'read-only';
  if (mode !== 'read-only' && mode !== 'operate') {
    throw new ConsoleOptionsError('mode', `must be "read-only" or "operate", got ${show(mode)}`);
  }
  const { apiKey } = given;
  if (apiKey !== undefined) {
    if (typeof apiKey !== 'string' || apiKey.length < 16 || apiKey.length > 512) {
      throw new ConsoleOptionsError('apiKey', 'must be a string of 16 to 512 characters');
    }
    if (hasGuard) {
      throw new ConsoleOptionsError(
        'apiKey',
        'cannot be combined with guard: the guard is the app’s own auth, the API key is for apps without one',
      );
    }
  }
  const { sessionSecret } = given;
  if (sessionSecret !== undefined && (typeof sessionSecret !== 'string' || sessionSecret.length < 32)) {
    throw new ConsoleOptionsError('sessionSecret', 'must be a string of at least 32 characters');
  }
  const secureCookie = given.secureCookie ?? 'auto';
  if (secureCookie !== 'auto' && typeof secureCookie !== 'boolean') {
    throw new ConsoleOptionsError('secureCookie', `must be true, false or 'auto', got ${show(secureCookie)}`);
  }
  const production = given.production ?? env.NODE_ENV === 'production';
  if (typeof production !== 'boolean') {
    throw new ConsoleOptionsError('production', `must be a boolean, got ${show(production)}`);
  }
  const deny = stringList('deny', given.deny);
  for (const [index, action] of deny.entries()) {
    if (!CONSOLE_ACTIONS.includes(action as ConsoleAction)) {
      throw new ConsoleOptionsError(
        `deny[${index}]`,
        `must be one of ${CONSOLE_ACTIONS.join(', ')}, got ${show(action)}`,
      );
    }
  }
  const streams = given.streams ?? {};
  if (streams === null || typeof streams !== 'object') {
    throw new ConsoleOptionsError('streams', `must be { hide?, readOnly? }, got ${show(streams)}`);
  }
  const readOnlyPatterns = stringList('streams.readOnly', streams.readOnly, 512);
  const { serverMetricsConnection } = given;
  if (
    serverMetricsConnection !== undefined &&
    (typeof serverMetricsConnection !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(serverMetricsConnection))
  ) {
    throw new ConsoleOptionsError(
      'serverMetricsConnection',
      `must be a RedisModule connection name, got ${show(serverMetricsConnection)}`,
    );
  }
  const redactFields =
    given.redactFields === undefined ? DEFAULT_REDACT_FIELDS : stringList('redactFields', given.redactFields);
  return {
    mode,
    apiKey,
    sessionSecret: sessionSecret === undefined ? randomBytes(32) : Buffer.from(sessionSecret, 'utf8'),
    sessionTtlMs: wholeNumber('sessionTtlMs', given.sessionTtlMs, 8 * 3_600_000, 60_000, 30 * 86_400_000),
    secureCookie,
    production,
    deny: new Set(deny as ConsoleAction[]),
    hidden: streamMatcher(stringList('streams.hide', streams.hide, 512)),
    readOnlyStreams: streamMatcher(readOnlyPatterns),
    readOnlyPatterns,
    serverMetricsConnection,
    redactFields: new Set(redactFields.map((field) => field.toLowerCase())),
    maxPayloadBytes: wholeNumber('maxPayloadBytes', given.maxPayloadBytes, 2_048, 64, 1_048_576),
    tailPerSecond: wholeNumber('tailPerSecond', given.tailPerSecond, 50, 1, 10_000),
    deadConsumerMs: wholeNumber('deadConsumerMs', given.deadConsumerMs, 300_000, 1_000, 30 * 86_400_000),
    maxStreams: wholeNumber('maxStreams', given.maxStreams, 100, 1, 10_000),
    requestsPerSecond: wholeNumber('requestsPerSecond', given.requestsPerSecond, 20, 1, 100_000),
    maxLiveConnections: wholeNumber('maxLiveConnections', given.maxLiveConnections, 50, 1, 100_000),
  };
}
