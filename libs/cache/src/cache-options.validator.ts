import { CacheOptionsError } from './cache.errors.js';
import type {
  CacheInvalidationMode,
  CacheL2Reads,
  CacheModuleOptions,
  CacheNamespaceOptions,
} from './cache-options.interface.js';

/** A namespace's options with every default applied. */
export interface ResolvedNamespaceOptions {
  name: string;
  ttlMs: number;
  l1TtlMs: number;
  graceMs: number;
  ttlJitter: number;
  loaderSoftTimeoutMs?: number;
  loaderHardTimeoutMs?: number;
  cacheNull: boolean;
  distributedSingleFlight?: { leaseMs: number; waitMs: number };
  earlyRefresh: number;
  l1: boolean;
}

export interface ResolvedCacheOptions {
  namespaces: Map<string, ResolvedNamespaceOptions>;
  l1MaxEntries: number;
  l1MaxBytes: number;
  maxValueBytes: number;
  invalidation: CacheInvalidationMode;
  shardedPubSub: boolean;
  preserializedHits: boolean;
  l2Reads: CacheL2Reads;
  readYourWritesMs: number;
}

export const DEFAULT_NAMESPACE = 'default';

const NAMESPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function duration(option: string, value: unknown, { allowZero = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new CacheOptionsError(
      option,
      `must be a number of milliseconds ${allowZero ? 'from' : 'above'} 0, got ${show(value)}`,
    );
  }
  return value;
}

function fraction(option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new CacheOptionsError(option, `must be a fraction from 0 to below 1, got ${show(value)}`);
  }
  return value;
}

function positiveInteger(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new CacheOptionsError(option, `must be a whole number above 0, got ${show(value)}`);
  }
  return value;
}

function resolveNamespace(
  name: string,
  options: CacheNamespaceOptions,
  inherited: ResolvedNamespaceOptions | undefined,
  path: string,
): ResolvedNamespaceOptions {
  const at = (option: string) => (path ? `${path}.${option}` : option);
  const ttlMs =
    options.ttlMs === undefined ? (inherited?.ttlMs ?? 60_000) : duration(at('ttlMs'), options.ttlMs);
  const l1TtlMs =
    options.l1TtlMs === undefined
      ? Math.min(inherited?.l1TtlMs ?? ttlMs, ttlMs)
      : duration(at('l1TtlMs'), options.l1TtlMs);
  if (l1TtlMs > ttlMs)
    throw new CacheOptionsError(at('l1TtlMs'), `must not exceed ttlMs (${ttlMs}), got ${l1TtlMs}`);
  const soft = options.loaderSoftTimeoutMs ?? inherited?.loaderSoftTimeoutMs;
  const hard = options.loaderHardTimeoutMs ?? inherited?.loaderHardTimeoutMs;
  if (soft !== undefined) duration(at('loaderSoftTimeoutMs'), soft);
  if (hard !== undefined) duration(at('loaderHardTimeoutMs'), hard);
  if (soft !== undefined && hard !== undefined && soft > hard) {
    throw new CacheOptionsError(at('loaderSoftTimeoutMs'), `must not exceed loaderHardTimeoutMs (${hard})`);
  }
  let distributed = inherited?.distributedSingleFlight;
  const flight = options.distributedSingleFlight;
  if (flight === false) distributed = undefined;
  else if (flight === true) distributed = { leaseMs: 5_000, waitMs: 5_000 };
  else if (flight !== undefined) {
    if (typeof flight !== 'object' || flight === null) {
      throw new CacheOptionsError(
        at('distributedSingleFlight'),
        `must be true, false or { leaseMs, waitMs }`,
      );
    }
    distributed = {
      leaseMs:
        flight.leaseMs === undefined
          ? 5_000
          : duration(at('distributedSingleFlight.leaseMs'), flight.leaseMs),
      waitMs:
        flight.waitMs === undefined ? 5_000 : duration(at('distributedSingleFlight.waitMs'), flight.waitMs),
    };
  }
  for (const flag of ['cacheNull', 'l1'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new CacheOptionsError(at(flag), `must be true or false, got ${show(options[flag])}`);
    }
  }
  return {
    name,
    ttlMs,
    l1TtlMs,
    graceMs:
      options.graceMs === undefined
        ? (inherited?.graceMs ?? 0)
        : duration(at('graceMs'), options.graceMs, { allowZero: true }),
    ttlJitter:
      options.ttlJitter === undefined
        ? (inherited?.ttlJitter ?? 0.1)
        : fraction(at('ttlJitter'), options.ttlJitter),
    loaderSoftTimeoutMs: soft,
    loaderHardTimeoutMs: hard,
    cacheNull: options.cacheNull ?? inherited?.cacheNull ?? false,
    distributedSingleFlight: distributed,
    earlyRefresh:
      options.earlyRefresh === undefined
        ? (inherited?.earlyRefresh ?? 0)
        : fraction(at('earlyRefresh'), options.earlyRefresh),
    l1: options.l1 ?? inherited?.l1 ?? true,
  };
}

/** Checks every option once, at startup; throws a {@link CacheOptionsError} naming the first bad one. */
export function resolveCacheOptions(options: CacheModuleOptions = {}): ResolvedCacheOptions {
  if (typeof options !== 'object' || options === null) {
    throw new CacheOptionsError('options', `must be an object, got ${show(options)}`);
  }
  const base = resolveNamespace(DEFAULT_NAMESPACE, options, undefined, '');
  const namespaces = new Map([[DEFAULT_NAMESPACE, base]]);
  for (const [name, namespaceOptions] of Object.entries(options.namespaces ?? {})) {
    if (!NAMESPACE_NAME.test(name)) {
      throw new CacheOptionsError(
        `namespaces.${name}`,
        'must be named with 1-64 of a-z 0-9 _ - (starting with a letter or digit)',
      );
    }
    namespaces.set(name, resolveNamespace(name, namespaceOptions ?? {}, base, `namespaces.${name}`));
  }
  const invalidation = options.invalidation ?? 'pubsub';
  if (!['pubsub', 'tracking', 'none'].includes(invalidation)) {
    throw new CacheOptionsError(
      'invalidation',
      `must be "pubsub", "tracking" or "none", got ${show(invalidation)}`,
    );
  }
  if (options.serializer !== undefined) {
    const { serializer } = options;
    if (typeof serializer?.serialize !== 'function' || typeof serializer?.deserialize !== 'function') {
      throw new CacheOptionsError('serializer', 'must have serialize(value) and deserialize(text) methods');
    }
  }
  if (options.shardedPubSub !== undefined && typeof options.shardedPubSub !== 'boolean') {
    throw new CacheOptionsError('shardedPubSub', `must be true or false, got ${show(options.shardedPubSub)}`);
  }
  if (options.preserializedHits !== undefined && typeof options.preserializedHits !== 'boolean') {
    throw new CacheOptionsError(
      'preserializedHits',
      `must be true or false, got ${show(options.preserializedHits)}`,
    );
  }
  const l2Reads = options.l2Reads ?? 'primary';
  if (l2Reads !== 'primary' && l2Reads !== 'replica') {
    throw new CacheOptionsError('l2Reads', `must be "primary" or "replica", got ${show(l2Reads)}`);
  }
  return {
    namespaces,
    preserializedHits: options.preserializedHits ?? false,
    l2Reads,
    readYourWritesMs:
      options.readYourWritesMs === undefined
        ? 1_000
        : duration('readYourWritesMs', options.readYourWritesMs, { allowZero: true }),
    l1MaxEntries:
      options.l1MaxEntries === undefined ? 10_000 : positiveInteger('l1MaxEntries', options.l1MaxEntries),
    l1MaxBytes:
      options.l1MaxBytes === undefined ? 64 * 1024 * 1024 : positiveInteger('l1MaxBytes', options.l1MaxBytes),
    maxValueBytes:
      options.maxValueBytes === undefined
        ? 1024 * 1024
        : positiveInteger('maxValueBytes', options.maxValueBytes),
    invalidation,
    shardedPubSub: options.shardedPubSub ?? true,
  };
}
