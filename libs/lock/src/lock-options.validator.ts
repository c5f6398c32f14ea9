import { REDIS_DEFAULTS, resolveDurability, type ResolvedDurability } from '@redkit/redis';

import { LockOptionsError } from './lock.errors.js';
import type { AcquireOptions, LockModuleOptions } from './lock-options.interface.js';

/** Module options with every default applied. */
export interface ResolvedLockOptions {
  ttlMs: number;
  retries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  jitterMs: number;
  maxWaitMs: number;
  driftFactor: number;
  extendAtFraction: number;
  notifications: boolean;
  localHandoff: boolean;
  coalesce: boolean;
  /** Durable mode's WAIT, or undefined when it is off. */
  durability: ResolvedDurability | undefined;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A whole number of milliseconds, above 0 (or from 0 with `allowZero`). */
export function checkMilliseconds(option: string, value: unknown, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new LockOptionsError(
      option,
      `must be a whole number of milliseconds ${allowZero ? 'from' : 'above'} 0, got ${show(value)}`,
    );
  }
  return value;
}

function checkRetries(option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value === Infinity || (Number.isInteger(value) && value >= 0))) {
    throw new LockOptionsError(option, `must be a whole number from 0, or Infinity, got ${show(value)}`);
  }
  return value;
}

function checkFraction(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !(value >= min && value < max)) {
    throw new LockOptionsError(option, `must be a number from ${min} to below ${max}, got ${show(value)}`);
  }
  return value;
}

/**
 * Checks every option once, at startup; throws a {@link LockOptionsError} naming the first bad one.
 * `commandTimeoutMs`: the lock's connection's (the shortest, over several), which bounds `durability.timeoutMs`.
 */
export function resolveLockOptions(
  options: LockModuleOptions = {},
  commandTimeoutMs: number = REDIS_DEFAULTS.commandTimeoutMs,
): ResolvedLockOptions {
  if (typeof options !== 'object' || options === null) {
    throw new LockOptionsError('options', `must be an object, got ${show(options)}`);
  }
  const retryDelayMs = checkMilliseconds('retryDelayMs', options.retryDelayMs ?? 100);
  const maxRetryDelayMs = checkMilliseconds('maxRetryDelayMs', options.maxRetryDelayMs ?? 1_000);
  if (maxRetryDelayMs < retryDelayMs) {
    throw new LockOptionsError('maxRetryDelayMs', `must not be below retryDelayMs (${retryDelayMs})`);
  }
  for (const flag of ['notifications', 'localHandoff', 'coalesce'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new LockOptionsError(flag, `must be true or false, got ${show(options[flag])}`);
    }
  }
  return {
    ttlMs: checkMilliseconds('ttlMs', options.ttlMs ?? 10_000),
    retries: checkRetries('retries', options.retries ?? Infinity),
    retryDelayMs,
    maxRetryDelayMs,
    jitterMs: checkMilliseconds('jitterMs', options.jitterMs ?? 50, true),
    maxWaitMs: checkMilliseconds('maxWaitMs', options.maxWaitMs ?? 10_000, true),
    driftFactor: checkFraction('driftFactor', options.driftFactor ?? 0.01, 0, 0.5),
    extendAtFraction: checkFraction('extendAtFraction', options.extendAtFraction ?? 0.5, 0.05, 0.95),
    notifications: options.notifications ?? true,
    localHandoff: options.localHandoff ?? true,
    coalesce: options.coalesce ?? true,
    durability: resolveDurability(
      options.durability,
      commandTimeoutMs,
      (option, reason) => new LockOptionsError(option, reason),
    ),
  };
}

/** What one acquisition runs with. */
export interface ResolvedAcquireOptions {
  ttlMs: number;
  retries: number;
  retryDelayMs: number;
  jitterMs: number;
  maxWaitMs: number;
}

/** One call's options over the module's; only the given ones are checked. */
export function resolveAcquireOptions(
  defaults: ResolvedLockOptions,
  options: AcquireOptions | undefined,
): ResolvedAcquireOptions {
  if (options === undefined) return defaults;
  const { ttlMs, retries, retryDelayMs, jitterMs, maxWaitMs } = options;
  return {
    ttlMs: ttlMs === undefined ? defaults.ttlMs : checkMilliseconds('ttlMs', ttlMs),
    retries: retries === undefined ? defaults.retries : checkRetries('retries', retries),
    retryDelayMs:
      retryDelayMs === undefined ? defaults.retryDelayMs : checkMilliseconds('retryDelayMs', retryDelayMs),
    jitterMs: jitterMs === undefined ? defaults.jitterMs : checkMilliseconds('jitterMs', jitterMs, true),
    maxWaitMs: maxWaitMs === undefined ? defaults.maxWaitMs : checkMilliseconds('maxWaitMs', maxWaitMs, true),
  };
}
