import { hostname } from 'node:os';

import { REDIS_DEFAULTS, resolveDurability, type ResolvedDurability } from '@redkit/redis';

import { resolvePriorityWeights, type PriorityWeights } from './lane-scheduler.js';
import { MessagingOptionsError } from './messaging.errors.js';
import type {
  MessagingModuleOptions,
  PartitionLeaseOptions,
  StreamConsumerDefaults,
} from './messaging-options.interface.js';

/** Consumer settings with every default applied. */
export type ResolvedConsumerSettings = Required<Omit<StreamConsumerDefaults, 'priorityWeights'>> & {
  priorityWeights: PriorityWeights;
};

/** Module options with every default applied. */
export interface ResolvedMessagingOptions {
  source: string;
  streamMaxLen: number;
  consumers: StreamConsumerDefaults;
  onReconnect?: MessagingModuleOptions['onReconnect'];
  subscribeTimeoutMs: number;
  shardedPubSub: boolean;
  eventBuckets: number;
  /** Durable publishes' WAIT, or undefined when it is off. */
  durability: ResolvedDurability | undefined;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** @internal */
export function wholeNumber(option: string, value: unknown, minimum: number, maximum?: number): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < minimum ||
    (maximum !== undefined && value > maximum)
  ) {
    const range = maximum === undefined ? `from ${minimum}` : `from ${minimum} to ${maximum}`;
    throw new MessagingOptionsError(option, `must be a whole number ${range}, got ${show(value)}`);
  }
  return value;
}

function booleanOption(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new MessagingOptionsError(option, `must be a boolean, got ${show(value)}`);
  return value;
}

/** @internal */
export function nonEmptyString(option: string, value: unknown, maxLength = 200): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new MessagingOptionsError(
      option,
      `must be a string of 1 to ${maxLength} characters, got ${show(value)}`,
    );
  }
  return value;
}

/** Options objects this module resolved, so that resolving them again returns them as they are. */
const resolved = new WeakSet<object>();

/**
 * Validates `MessagingModule` options once, at startup; throws {@link MessagingOptionsError} naming the
 * option. `commandTimeoutMs`: the connection's, which bounds `durability.timeoutMs`.
 */
export function resolveMessagingOptions(
  options: MessagingModuleOptions | ResolvedMessagingOptions = {},
  commandTimeoutMs: number = REDIS_DEFAULTS.commandTimeoutMs,
): ResolvedMessagingOptions {
  if (options !== null && typeof options === 'object' && resolved.has(options)) {
    return options as ResolvedMessagingOptions;
  }
  if (options === null || typeof options !== 'object') {
    throw new MessagingOptionsError('options', `must be an object, got ${show(options)}`);
  }
  if (options.onReconnect !== undefined && typeof options.onReconnect !== 'function') {
    throw new MessagingOptionsError('onReconnect', `must be a function, got ${typeof options.onReconnect}`);
  }
  const consumers = options.consumers ?? {};
  // Checked now so that a bad default fails at startup, not when the first consumer starts.
  resolveConsumerSettings(consumers, {}, 'consumers.');
  const result: ResolvedMessagingOptions = {
    source:
      options.source === undefined
        ? `${hostname()}:${process.pid}`
        : nonEmptyString('source', options.source),
    streamMaxLen:
      options.streamMaxLen === undefined ? 100_000 : wholeNumber('streamMaxLen', options.streamMaxLen, 0),
    consumers,
    onReconnect: options.onReconnect,
    subscribeTimeoutMs:
      options.subscribeTimeoutMs === undefined
        ? 5_000
        : wholeNumber('subscribeTimeoutMs', options.subscribeTimeoutMs, 1),
    shardedPubSub: booleanOption('shardedPubSub', options.shardedPubSub ?? true),
    eventBuckets:
      options.eventBuckets === undefined ? 16 : wholeNumber('eventBuckets', options.eventBuckets, 1, 1_024),
    durability: resolveMessagingDurability(options.durability, commandTimeoutMs),
  };
  resolved.add(result);
  return result;
}

/**
 * The `durability` option checked against a connection's `commandTimeoutMs` (an already resolved one
 * too: options resolved for one connection may be handed to a producer on another).
 */
export function resolveMessagingDurability(
  durability: unknown,
  commandTimeoutMs: number,
): ResolvedDurability | undefined {
  return resolveDurability(
    durability,
    commandTimeoutMs,
    (option, reason) => new MessagingOptionsError(option, reason),
  );
}

/** Lease settings of a partitioned stream's member, every default applied. */
export type ResolvedPartitionLeaseOptions = Required<PartitionLeaseOptions>;

/** Validates {@link PartitionLeaseOptions}; throws {@link MessagingOptionsError} naming the option. */
export function resolvePartitionLeaseOptions(options: PartitionLeaseOptions): ResolvedPartitionLeaseOptions {
  const heartbeatMs = wholeNumber('heartbeatMs', options.heartbeatMs ?? 2_000, 10);
  const leaseMs = wholeNumber('leaseMs', options.leaseMs ?? Math.max(10_000, heartbeatMs * 4), 1);
  if (leaseMs < heartbeatMs * 4) {
    throw new MessagingOptionsError(
      'leaseMs',
      `must be at least 4 × heartbeatMs (${heartbeatMs * 4}), got ${leaseMs}: a member stops consuming when its leases have not been renewed for leaseMs − 2 × heartbeatMs`,
    );
  }
  return { leaseMs, heartbeatMs };
}

/**
 * One consumer's settings: `own` over the module's `defaults` over redkit's. `path` prefixes option
 * names in errors (`consumers.` for the module's defaults).
 */
export function resolveConsumerSettings(
  defaults: StreamConsumerDefaults,
  own: StreamConsumerDefaults,
  path = '',
): ResolvedConsumerSettings {
  const pick = <K extends keyof StreamConsumerDefaults>(key: K): StreamConsumerDefaults[K] =>
    own[key] ?? defaults[key];
  const concurrency = wholeNumber(`${path}concurrency`, pick('concurrency') ?? 16, 1);
  const batchSize = wholeNumber(`${path}batchSize`, pick('batchSize') ?? concurrency, 1);
  const blockMs = wholeNumber(`${path}blockMs`, pick('blockMs') ?? 1_000, 1);
  const maxDeliveries = wholeNumber(`${path}maxDeliveries`, pick('maxDeliveries') ?? 5, 1);
  const claimIdleMs = wholeNumber(`${path}claimIdleMs`, pick('claimIdleMs') ?? 30_000, 1);
  const retryDelayMs = wholeNumber(`${path}retryDelayMs`, pick('retryDelayMs') ?? 500, 0);
  if (retryDelayMs >= claimIdleMs) {
    throw new MessagingOptionsError(
      `${path}retryDelayMs`,
      `must be below claimIdleMs (${claimIdleMs}), got ${retryDelayMs}: a waiting retry would be claimed by another consumer`,
    );
  }
  const claimIntervalMs = wholeNumber(
    `${path}claimIntervalMs`,
    pick('claimIntervalMs') ?? Math.max(10, Math.min(5_000, Math.floor(claimIdleMs / 4))),
    1,
  );
  const startId = pick('startId') ?? '0';
  if (typeof startId !== 'string' || !/^(\$|0|\d+(-\d+)?)$/.test(startId)) {
    throw new MessagingOptionsError(
      `${path}startId`,
      `must be "0", "$" or a stream id, got ${show(startId)}`,
    );
  }
  const deadLetterMaxLen = wholeNumber(`${path}deadLetterMaxLen`, pick('deadLetterMaxLen') ?? 100_000, 1);
  return {
    concurrency,
    batchSize,
    blockMs,
    maxDeliveries,
    claimIdleMs,
    retryDelayMs,
    claimIntervalMs,
    startId,
    deadLetterMaxLen,
    deleteIdleConsumersAfterMs: wholeNumber(
      `${path}deleteIdleConsumersAfterMs`,
      pick('deleteIdleConsumersAfterMs') ?? 3_600_000,
      1,
    ),
    priorityWeights: resolvePriorityWeights(pick('priorityWeights'), path),
  };
}
