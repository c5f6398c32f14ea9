import type { ReconnectListener } from './event-bus.types.js';

/**
 * Defaults of every stream consumer of the module; each can be overridden per consumer
 * (`@StreamHandler(stream, group, { ... })` or `StreamConsumers.start({ ... })`).
 */
export interface StreamConsumerDefaults {
  /** Handlers of one consumer running at once. Default 16. */
  concurrency?: number;
  /** Most entries one XREADGROUP asks for (COUNT). Default: `concurrency`. */
  batchSize?: number;
  /** How long one XREADGROUP waits for new entries (BLOCK). Default 1000. */
  blockMs?: number;
  /** Deliveries an entry gets before it goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** Wait before a failed entry is delivered again (to this consumer). Default 500. */
  retryDelayMs?: number;
  /**
   * Pending entries idle for longer than this are taken over (XAUTOCLAIM) from whichever consumer
   * holds them, dead or alive. Must exceed the longest handler run. Default 30000.
   */
  claimIdleMs?: number;
  /** How often a consumer looks for such entries (and samples its pending count). Default: claimIdleMs / 4, at most 5000. */
  claimIntervalMs?: number;
  /** Where a group created on demand starts: `0` (the whole stream, default) or `$` (only new entries). */
  startId?: string;
  /** Approximate bound (MAXLEN ~) of each dead-letter stream. Default 100000. */
  deadLetterMaxLen?: number;
  /**
   * Consumers of the group with nothing pending and idle for longer than this are removed from it
   * (XGROUP DELCONSUMER), so that the consumers of stopped processes do not pile up. Default 3600000.
   */
  deleteIdleConsumersAfterMs?: number;
}

/** Options of `MessagingModule.forRoot`. Every part is optional. */
export interface MessagingModuleOptions {
  /** `source` of published envelopes and stream entries. Default `<hostname>:<pid>`. */
  source?: string;
  /** Approximate bound (MAXLEN ~) applied by `StreamProducer.publish` when the call gives none; 0 never trims. Default 100000. */
  streamMaxLen?: number;
  /** Defaults of every stream consumer. */
  consumers?: StreamConsumerDefaults;
  /**
   * Called when the event bus listens again after its subscriber connection was lost: events
   * published meanwhile were not received, so poll for them here.
   */
  onReconnect?: ReconnectListener;
  /** Time an event-bus subscribe() waits for the subscriber connection before it resolves anyway. Default 5000. */
  subscribeTimeoutMs?: number;
}

/** Options that shape the module rather than its behaviour (Nest "extras"). */
export interface MessagingModuleExtras {
  /** Register the services globally. Default true. */
  isGlobal: boolean;
  /** The `RedisModule` connection to use. Default `default`. */
  connection: string;
}
