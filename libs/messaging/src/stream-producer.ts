import { MetricsService } from '@redkit/metrics';
import {
  currentCorrelationId,
  sendCommandDurably,
  type RedisConnection,
  type ResolvedDurability,
  type SpanAttributes,
} from '@redkit/redis';

import { assertEventType } from './event-envelope.js';
import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { MessagingDurabilityError, MessagingOptionsError } from './messaging.errors.js';
import { MessagingMetrics } from './messaging.metrics.js';
import { messagingSpanAttributes, messagingTracer, tracePublish } from './messaging.tracing.js';
import type { MessagingModuleOptions } from './messaging-options.interface.js';
import {
  resolveMessagingDurability,
  resolveMessagingOptions,
  wholeNumber,
  type ResolvedMessagingOptions,
} from './messaging-options.validator.js';
import { partitionStreamOf, type PartitionedStream } from './partitioned-stream.js';
import { StreamKeys } from './stream-keys.js';
import {
  FIELD_CORRELATION_ID,
  FIELD_DATA,
  FIELD_PRIORITY,
  FIELD_SOURCE,
  FIELD_TIME,
  FIELD_TYPE,
  FIELD_VERSION,
  isMessagePriority,
  MESSAGE_PRIORITIES,
  WIRE_VERSION,
  type MessagePriority,
} from './stream-message.js';

const NORMAL_LANE = MESSAGE_PRIORITIES.indexOf('normal');

/** The lane index of a publish's `priority`, validated. */
function laneOf(priority: unknown): number {
  if (priority === undefined) return NORMAL_LANE;
  if (!isMessagePriority(priority)) {
    throw new MessagingOptionsError(
      'priority',
      `must be one of ${MESSAGE_PRIORITIES.join(', ')}, got ${typeof priority === 'string' ? JSON.stringify(priority) : String(priority)}`,
    );
  }
  return MESSAGE_PRIORITIES.indexOf(priority);
}

/** Options of one `StreamProducer.publish`. */
export interface StreamPublishOptions {
  /** Approximate bound of the stream (XADD MAXLEN ~); 0 never trims. Default: the module's `streamMaxLen`. */
  maxLen?: number;
  /** Default: the current correlation id (`currentCorrelationId()`, such as the HTTP request's), if any. */
  correlationId?: string;
  /**
   * The lane: `critical`, `high`, `normal` (default: the stream's original key) or `low`. Consumers
   * start higher lanes first, with a bounded share for lower ones (see the README's "Priority lanes").
   */
  priority?: MessagePriority;
  /**
   * Required by a {@link PartitionedStream}: the entry goes to the partition this key hashes to, so
   * the entries of one key keep their order. Ignored by a plain stream.
   */
  partitionKey?: string;
}

/**
 * Appends entries to streams (XADD) for consumer groups to process, to the lane of their `priority`.
 * Each entry carries `type`, `data` (JSON), `time`, `source`, an optional `correlationId` (the
 * current one by default), the publisher's `traceparent` / `tracestate` while it is traced, and, on
 * every lane but `normal`, its `priority`; each lane is trimmed approximately (MAXLEN ~, cheap) to
 * `maxLen`. Trimming may drop entries not yet processed if
 * consumers fall that far behind: size it for the backlog you accept.
 *
 * With the module's `durability` option, each publish is followed by WAIT and resolves only once
 * enough replicas acknowledged its entry (see the README's "Durability across failover").
 *
 * @example
 * const id = await producer.publish('orders', 'order.placed', { orderId: 'o-1' });
 */
export class StreamProducer {
  private readonly keys: StreamKeys;
  private readonly source: string;
  private readonly defaultMaxLen: number;
  private readonly metrics: MessagingMetrics;
  /** Durable mode's WAIT, or undefined when it is off. */
  private readonly durability: ResolvedDurability | undefined;
  /** The attributes of its spans, made the first time it is traced. */
  private spanAttributes?: SpanAttributes;

  constructor(
    private readonly connection: RedisConnection,
    options: MessagingModuleOptions | ResolvedMessagingOptions = {},
    metrics?: MessagingMetrics | MetricsService,
  ) {
    const { commandTimeoutMs } = connection.options;
    const resolved = resolveMessagingOptions(options, commandTimeoutMs);
    // Again against this connection: options resolved for another may allow a longer WAIT.
    this.durability = resolveMessagingDurability(resolved.durability, commandTimeoutMs);
    this.source = resolved.source;
    this.defaultMaxLen = resolved.streamMaxLen;
    this.keys = new StreamKeys(connection.keyspace(MESSAGING_KEY_MODULE));
    this.metrics =
      metrics instanceof MessagingMetrics ? metrics : new MessagingMetrics(metrics ?? new MetricsService());
  }

  /** The Redis key of a stream's lane, `normal` by default (for tools that read it directly). */
  keyOf(stream: string, priority?: MessagePriority): string {
    return this.keys.of(stream).lanes[laneOf(priority)] as string;
  }

  /**
   * Appends one entry (to the partition of `options.partitionKey` when `target` is a
   * {@link PartitionedStream}); resolves with its id. Rejects when Redis does not take it. With
   * `durability`, resolves once enough replicas acknowledged the entry, and rejects with
   * `MessagingDurabilityError` when they did not in time: the entry may still stand on the primary
   * (and reach consumers), or be lost by a failover; treat it as unknown.
   */
  async publish<T>(
    target: string | PartitionedStream,
    type: string,
    data: T,
    options: StreamPublishOptions = {},
  ): Promise<string> {
    const stream = typeof target === 'string' ? target : partitionStreamOf(target, options.partitionKey);
    assertEventType(type);
    const lane = laneOf(options.priority);
    const key = this.keys.of(stream).lanes[lane] as string;
    const maxLen =
      options.maxLen === undefined ? this.defaultMaxLen : wholeNumber('maxLen', options.maxLen, 0);
    const json = JSON.stringify(data);
    if (json === undefined) throw new MessagingOptionsError('data', 'must be JSON-serializable');
    const fields: (string | number)[] = [
      FIELD_TYPE,
      type,
      FIELD_DATA,
      json,
      FIELD_TIME,
      Date.now(),
      FIELD_SOURCE,
      this.source,
      FIELD_VERSION,
      WIRE_VERSION,
    ];
    const correlationId = options.correlationId ?? currentCorrelationId();
    if (correlationId !== undefined) fields.push(FIELD_CORRELATION_ID, correlationId);
    if (lane !== NORMAL_LANE) fields.push(FIELD_PRIORITY, options.priority as MessagePriority);
    let id: string | null;
    try {
      id = messagingTracer.enabled
        ? await tracePublish(
            (this.spanAttributes ??= messagingSpanAttributes(this.connection)),
            stream,
            MESSAGE_PRIORITIES[lane] as MessagePriority,
            correlationId,
            (trace) =>
              this.add(
                stream,
                key,
                maxLen,
                trace.length === 0 ? fields : fields.concat(trace),
              ) as Promise<string>,
          )
        : await this.add(stream, key, maxLen, fields);
    } catch (error) {
      // A refusal for the ACL user: typed, logged once and reported by the connection's health.
      throw this.connection.notePermission('messaging', error) ?? error;
    }
    this.metrics.streamPublished(stream).inc();
    this.metrics.lanePublished(stream, lane).inc();
    return id as string;
  }

  /** XADD, trimming the lane approximately unless `maxLen` is 0; not async, so publish awaits once. */
  private add(
    stream: string,
    key: string,
    maxLen: number,
    fields: readonly (string | number)[],
  ): Promise<string | null> {
    const { client } = this.connection;
    if (this.durability !== undefined) return this.addDurably(stream, key, maxLen, fields, this.durability);
    return maxLen > 0
      ? client.xadd(key, 'MAXLEN', '~', maxLen, '*', ...fields)
      : client.xadd(key, '*', ...fields);
  }

  /**
   * XADD then WAIT in one pipeline on the same connection (the publishes of one turn share one WAIT);
   * throws MessagingDurabilityError when too few replicas acknowledged the entry.
   */
  private async addDurably(
    stream: string,
    key: string,
    maxLen: number,
    fields: readonly (string | number)[],
    durability: ResolvedDurability,
  ): Promise<string | null> {
    const args = maxLen > 0 ? [key, 'MAXLEN', '~', maxLen, '*', ...fields] : [key, '*', ...fields];
    const waited = await sendCommandDurably(this.connection.client, 'xadd', args, durability);
    this.metrics.durablePublish(stream, waited.durable);
    if (!waited.durable) {
      const { waitError } = waited;
      throw new MessagingDurabilityError(
        stream,
        waited.acknowledged,
        durability.replicas,
        durability.timeoutMs,
        // A WAIT refused for the ACL user: typed, logged once and reported by the connection's health.
        waitError === undefined
          ? undefined
          : { cause: this.connection.notePermission('messaging', waitError) ?? waitError },
      );
    }
    return waited.reply as string | null;
  }
}
