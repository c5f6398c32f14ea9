import { REDIS_DEFAULTS, resolveDurability, type ResolvedDurability } from '@redkit/redis';

import { RateLimitOptionsError } from './rate-limit.errors.js';
import type {
  RateLimitAlgorithm,
  RateLimitHeaderForm,
  RateLimitModuleOptions,
  RateLimitOptions,
  RateLimitRule,
  RedisErrorPolicy,
  TrustProxy,
} from './rate-limit-options.interface.js';
import { COUNTER_CODE, LOG_CODE, PACKED_LOG_CODE, PACKED_LOG_MAX_LIMIT } from './rate-limit-scripts.js';

/** A limit checked once and ready for the hot path: no validation or formatting per request. */
export interface RateLimitPolicy {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly cost: number;
  readonly algorithm: RateLimitAlgorithm;
  readonly onRedisError: RedisErrorPolicy;
  /**
   * `:<name>:p` (sliding log up to {@link PACKED_LOG_MAX_LIMIT}, a packed string), `:<name>:l`
   * (larger sliding log, a sorted set) or `:<name>:c` (counter), appended to `<base>{<identity>}`.
   * The suffix names the key's type, so a limit changed across the threshold starts a new log
   * rather than meeting a key of the other type.
   */
  readonly keySuffix: string;
  /** The four ARGV values of this limit, as the check script reads them. */
  readonly args: readonly string[];
  /**
   * What a remembered refusal of this policy is keyed by beside the Redis key: a refusal holds for
   * the same limit, window and cost only (a cheaper request may fit where this one did not).
   */
  readonly refusalSuffix: string;
  /** The whole ARGV of a one-limit consume and peek, built once. */
  readonly consumeArgs: string[];
  readonly peekArgs: string[];
}

export interface ResolvedRateLimitOptions {
  limits: RateLimitOptions[];
  algorithm: RateLimitAlgorithm;
  onRedisError: RedisErrorPolicy;
  insurance?: { share: number; maxKeys: number };
  headers: readonly RateLimitHeaderForm[];
  trustProxy: TrustProxy;
  message: string;
  maxIdentifierBytes: number;
  coalesce: boolean;
  localRefusalMs: number;
  /** Durable mode's WAIT after each admission, or undefined when it is off. */
  durability: ResolvedDurability | undefined;
}

const KEY_TYPE = { [LOG_CODE]: 'l', [COUNTER_CODE]: 'c', [PACKED_LOG_CODE]: 'p' } as const;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const ALGORITHMS: readonly RateLimitAlgorithm[] = ['sliding-log', 'sliding-counter'];
const HEADER_FORMS: readonly RateLimitHeaderForm[] = ['ietf', 'ratelimit-legacy', 'x-ratelimit'];

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function wholeNumber(option: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RateLimitOptionsError(option, `must be a whole number from 1 to ${max}, got ${show(value)}`);
  }
  return value;
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new RateLimitOptionsError(
      option,
      `must be one of ${allowed.map((item) => `"${item}"`).join(', ')}, got ${show(value)}`,
    );
  }
  return value as T;
}

/**
 * Checks one limit and compiles it into a {@link RateLimitPolicy}.
 * @throws RateLimitOptionsError naming the bad field (prefixed with `at`).
 */
export function compilePolicy(
  rule: RateLimitRule,
  defaults: { algorithm: RateLimitAlgorithm; onRedisError: RedisErrorPolicy },
  at = 'limit',
): RateLimitPolicy {
  if (typeof rule !== 'object' || rule === null) {
    throw new RateLimitOptionsError(at, `must be an object, got ${show(rule)}`);
  }
  const limit = wholeNumber(`${at}.limit`, rule.limit, 1_000_000_000);
  // A window up to a year; windows are handled in microseconds, well inside exact doubles.
  const windowMs = wholeNumber(`${at}.windowMs`, rule.windowMs, 366 * 24 * 3_600_000);
  const cost = rule.cost === undefined ? 1 : wholeNumber(`${at}.cost`, rule.cost, limit);
  const algorithm =
    rule.algorithm === undefined ? defaults.algorithm : oneOf(`${at}.algorithm`, rule.algorithm, ALGORITHMS);
  const onRedisError =
    rule.onRedisError === undefined
      ? defaults.onRedisError
      : oneOf(`${at}.onRedisError`, rule.onRedisError, ['open', 'closed'] as const);
  const name = rule.name ?? `${algorithm}-${windowMs}`;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new RateLimitOptionsError(`${at}.name`, `must be 1-64 of A-Z a-z 0-9 _ - ., got ${show(name)}`);
  }
  const code =
    algorithm === 'sliding-counter'
      ? COUNTER_CODE
      : limit <= PACKED_LOG_MAX_LIMIT
        ? PACKED_LOG_CODE
        : LOG_CODE;
  const args = [code, String(limit), String(windowMs), String(cost)];
  return Object.freeze({
    name,
    limit,
    windowMs,
    cost,
    algorithm,
    onRedisError,
    keySuffix: `:${name}:${KEY_TYPE[code]}`,
    refusalSuffix: `\n${args.join(' ')}`,
    args: Object.freeze(args),
    consumeArgs: ['1', ...args],
    peekArgs: ['0', ...args],
  });
}

function trustProxy(value: unknown): TrustProxy {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return wholeNumber('trustProxy', value, 64);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0)) {
    return Object.freeze([...(value as string[])]);
  }
  throw new RateLimitOptionsError(
    'trustProxy',
    `must be true, false, a number of proxies or a list of proxy addresses, got ${show(value)}`,
  );
}

/**
 * Checks every module option once, at startup; throws a {@link RateLimitOptionsError} naming the first bad one.
 * `commandTimeoutMs`: the limiter's connection's, which bounds `durability.timeoutMs`.
 */
export function resolveRateLimitOptions(
  options: RateLimitModuleOptions = {},
  commandTimeoutMs: number = REDIS_DEFAULTS.commandTimeoutMs,
): ResolvedRateLimitOptions {
  if (typeof options !== 'object' || options === null) {
    throw new RateLimitOptionsError('options', `must be an object, got ${show(options)}`);
  }
  const algorithm =
    options.algorithm === undefined ? 'sliding-log' : oneOf('algorithm', options.algorithm, ALGORITHMS);
  const onRedisError =
    options.onRedisError === undefined
      ? 'open'
      : oneOf('onRedisError', options.onRedisError, ['open', 'closed'] as const);
  const limits = options.limits ?? [];
  if (!Array.isArray(limits)) throw new RateLimitOptionsError('limits', 'must be an array of limits');
  limits.forEach((limit, index) => {
    compilePolicy(limit, { algorithm, onRedisError }, `limits[${index}]`);
    validateKey(limit.key, `limits[${index}].key`);
  });
  let insurance: ResolvedRateLimitOptions['insurance'];
  if (options.insurance === true) insurance = { share: 1, maxKeys: 10_000 };
  else if (typeof options.insurance === 'object' && options.insurance !== null) {
    const { share = 1, maxKeys = 10_000 } = options.insurance;
    if (typeof share !== 'number' || !(share > 0 && share <= 1)) {
      throw new RateLimitOptionsError(
        'insurance.share',
        `must be a fraction above 0 up to 1, got ${show(share)}`,
      );
    }
    insurance = { share, maxKeys: wholeNumber('insurance.maxKeys', maxKeys) };
  } else if (options.insurance !== undefined && options.insurance !== false) {
    throw new RateLimitOptionsError(
      'insurance',
      `must be true, false or { share, maxKeys }, got ${show(options.insurance)}`,
    );
  }
  const headers = options.headers ?? ['ietf'];
  if (!Array.isArray(headers)) throw new RateLimitOptionsError('headers', 'must be an array of header forms');
  headers.forEach((form, index) => oneOf(`headers[${index}]`, form, HEADER_FORMS));
  const message = options.message ?? 'Too Many Requests';
  if (typeof message !== 'string')
    throw new RateLimitOptionsError('message', `must be a string, got ${show(message)}`);
  const coalesce = options.coalesce ?? true;
  if (typeof coalesce !== 'boolean')
    throw new RateLimitOptionsError('coalesce', `must be true or false, got ${show(coalesce)}`);
  return {
    limits,
    algorithm,
    onRedisError,
    insurance,
    headers: Object.freeze([...headers]),
    trustProxy: trustProxy(options.trustProxy ?? false),
    message,
    maxIdentifierBytes:
      options.maxIdentifierBytes === undefined
        ? 128
        : wholeNumber('maxIdentifierBytes', options.maxIdentifierBytes, 4096),
    coalesce,
    localRefusalMs: localRefusalMs(options.localRefusalMs),
    durability: resolveDurability(
      options.durability,
      commandTimeoutMs,
      (option, reason) => new RateLimitOptionsError(option, reason),
    ),
  };
}

function localRefusalMs(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 3_600_000) {
    throw new RateLimitOptionsError(
      'localRefusalMs',
      `must be a whole number of milliseconds from 0 to 3600000, got ${show(value)}`,
    );
  }
  return value;
}

/** Checks the `key` of a guard limit. */
export function validateKey(key: unknown, at: string): void {
  if (key === undefined || key === 'ip' || key === 'user' || typeof key === 'function') return;
  throw new RateLimitOptionsError(at, `must be "ip", "user" or a function of the context, got ${show(key)}`);
}
