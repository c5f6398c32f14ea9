import type { OnApplicationShutdown } from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';
import {
  currentCorrelationId,
  DedicatedSubscriber,
  recordSpanError,
  RedkitLogger,
  runInRestoredContext,
  type RedisConnection,
  type RedkitSpan,
  type SpanAttributes,
} from '@redkit/redis';
import { Cluster } from 'ioredis';

import { DisconnectedPoller } from './disconnected-poller.js';
import {
  assertEventType,
  checkEventPattern,
  createEnvelope,
  eventBucket,
  eventPatternMatcher,
  parseEnvelope,
} from './event-envelope.js';
import type {
  EventEnvelope,
  EventHandler,
  EventSubscription,
  MissedWindowPoll,
  PollWhileDisconnectedOptions,
  PublishEventOptions,
  ReconnectInfo,
  ReconnectListener,
} from './event-bus.types.js';
import { MessagingOptionsError } from './messaging.errors.js';
import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { MessagingMetrics } from './messaging.metrics.js';
import {
  activeTraceFields,
  describePublished,
  eventPublishAttributes,
  messagingSpanAttributes,
  messagingTracer,
  traceReceive,
} from './messaging.tracing.js';
import type { MessagingModuleOptions } from './messaging-options.interface.js';
import { ThrottledWarnings } from './throttled-warnings.js';
import { resolveMessagingOptions, type ResolvedMessagingOptions } from './messaging-options.validator.js';

/** Event types whose bucket is remembered (sharded pub/sub) before the memo starts over. */
const MAX_MEMOIZED_TYPES = 10_000;

/** A channel or pattern and the handlers listening on it. */
interface Listeners {
  /** The subscribed type or pattern, as given to `subscribe`. */
  readonly pattern: string;
  readonly isPattern: boolean;
  readonly handlers: Set<EventHandler>;
  /** Sharded pub/sub: the pattern as a matcher, since shard channels have no pattern subscriptions. */
  readonly matcher?: RegExp;
}

/**
 * Typed events over Redis pub/sub: fire-and-forget, delivered to whoever listens at that moment
 * (use Streams for work that must not be lost). Each event is an {@link EventEnvelope} published on
 * `<keyPrefix>:messaging:events:<type>`; `subscribe('market.*', handler)` listens on a pattern.
 *
 * On a Cluster (unless `shardedPubSub: false`) it uses sharded pub/sub instead: an event is
 * SPUBLISHed on one of `eventBuckets` shard channels, `<keyPrefix>:messaging:events:~<bucket>` with
 * bucket = `CLUSTER KEYSLOT <type>` mod `eventBuckets`, so it reaches only the master owning that
 * channel and the events of one type keep their order; a subscriber SSUBSCRIBEs the bucket of an exact
 * type, or every bucket for a pattern, and matches types itself.
 *
 * Subscriptions live on one dedicated connection per bus that subscribes everything again after a
 * reconnect, then calls the `onReconnect` listeners with the window in which events were missed.
 * A handler that throws never keeps the others from running; a message that is not an envelope is
 * counted (`redkit_events_malformed_total`), logged and dropped.
 *
 * The module's `durability` option does not apply here: an event is delivered to whoever listens
 * the moment it is published, or to no one, so no replica could keep it for later; waiting for
 * replicas would only slow every publish down. Publish to a stream for what must survive a failover.
 *
 * An event carries the publisher's correlation id (and, while it is traced, its W3C trace context);
 * handlers run with that id current (`currentCorrelationId()`, their log lines) and, while traced,
 * in a `<type> receive` span that is a child of the `<type> publish` one.
 *
 * @example
 * await bus.subscribe('trade.*', (event) => console.log(event.type, event.data));
 * await bus.publish('trade.executed', { symbol: 'BTC-USD', price: '64250.5' });
 */
export class EventBus implements OnApplicationShutdown {
  private readonly logger = new RedkitLogger('EventBus');
  private readonly warnings = new ThrottledWarnings(
    this.logger,
    (error) => this.connection.notePermission('messaging', error) !== undefined,
  );
  private readonly options: ResolvedMessagingOptions;
  private readonly metrics: MessagingMetrics;
  /** `<keyPrefix>:messaging:events:` */
  private readonly channelPrefix: string;
  private readonly listeners = new Map<string, Listeners>();
  /** Sharded pub/sub: on a Cluster with `shardedPubSub` (the default). */
  private readonly sharded: boolean;
  /** Sharded: `<channelPrefix>~<bucket>` by bucket, and back. */
  private readonly bucketChannels: readonly string[];
  private readonly bucketOfChannel: ReadonlyMap<string, number>;
  /** Sharded: how many subscriptions hold each bucket channel; it is subscribed while any does. */
  private readonly bucketHolds: number[];
  /** Sharded: a bucket's SSUBSCRIBE in flight, which a later holder waits for too. */
  private readonly bucketSubscribing: Array<Promise<void> | undefined> = [];
  /** Sharded: the pattern subscriptions, matched against each event's type here. */
  private readonly patternListeners = new Set<Listeners>();
  /** Sharded: the bucket of each type seen, so a hot type is hashed once. */
  private readonly bucketByType = new Map<string, number>();
  private readonly reconnectListeners = new Set<ReconnectListener>();
  private readonly disconnectListeners = new Set<(at: Date) => unknown>();
  private readonly pollers = new Set<DisconnectedPoller>();
  private subscriber?: DedicatedSubscriber;
  private listening?: Promise<void>;
  private markListening?: () => void;
  private disconnectedAt?: Date;
  /** The attributes of its spans, made the first time it is traced. */
  private spanAttributes?: SpanAttributes;

  constructor(
    private readonly connection: RedisConnection,
    options: MessagingModuleOptions | ResolvedMessagingOptions = {},
    metrics?: MessagingMetrics | MetricsService,
  ) {
    // (Its `durability` is the stream producer's: events are fire-and-forget and never WAIT.)
    this.options = resolveMessagingOptions(options, connection.options.commandTimeoutMs);
    this.metrics =
      metrics instanceof MessagingMetrics ? metrics : new MessagingMetrics(metrics ?? new MetricsService());
    this.channelPrefix = `${connection.keyspace(MESSAGING_KEY_MODULE).base}events:`;
    if (this.options.onReconnect) this.reconnectListeners.add(this.options.onReconnect);
    this.sharded = this.options.shardedPubSub && connection.client instanceof Cluster;
    const buckets = this.sharded ? this.options.eventBuckets : 0;
    this.bucketChannels = Array.from({ length: buckets }, (_, bucket) => `${this.channelPrefix}~${bucket}`);
    this.bucketOfChannel = new Map(this.bucketChannels.map((channel, bucket) => [channel, bucket]));
    this.bucketHolds = new Array<number>(buckets).fill(0);
  }

  /**
   * The channel an event type is published on: `<keyPrefix>:messaging:events:<type>` (PUBLISH), or
   * with sharded pub/sub its bucket's shard channel (SPUBLISH; see {@link publishesSharded}).
   */
  channelOf(type: string): string {
    assertEventType(type);
    return this.sharded ? this.bucketChannelOf(type) : this.channelPrefix + type;
  }

  /** True when events go out with SPUBLISH on bucket shard channels (a Cluster, `shardedPubSub` on). */
  get publishesSharded(): boolean {
    return this.sharded;
  }

  /**
   * Publishes one event; resolves with its envelope once Redis has taken it. Rejects when Redis does
   * not answer (the event is then not sent). Nobody listening is not an error.
   */
  async publish<T>(type: string, data: T, options: PublishEventOptions = {}): Promise<EventEnvelope<T>> {
    assertEventType(type);
    const correlationId = options.correlationId ?? currentCorrelationId();
    if (messagingTracer.enabled) return this.tracedPublish(type, data, correlationId);
    const envelope = createEnvelope(type, data, this.options.source, correlationId);
    try {
      await this.send(envelope);
    } catch (error) {
      // A refusal for the ACL user: typed, logged once and reported by the connection's health.
      throw this.connection.notePermission('messaging', error) ?? error;
    }
    this.metrics.eventPublished(type).inc();
    return envelope;
  }

  /** Publishes in a `<type> publish` span, whose trace context the envelope carries to the receivers. */
  private tracedPublish<T>(
    type: string,
    data: T,
    correlationId: string | undefined,
  ): Promise<EventEnvelope<T>> {
    const server = (this.spanAttributes ??= messagingSpanAttributes(this.connection));
    return messagingTracer.trace(
      `${type} publish`,
      { kind: 'producer', attributes: eventPublishAttributes(server, type) },
      async (span) => {
        const envelope = createEnvelope(type, data, this.options.source, correlationId, activeTraceFields());
        describePublished(span, envelope);
        try {
          await this.send(envelope);
        } catch (error) {
          throw this.connection.notePermission('messaging', error) ?? error;
        }
        this.metrics.eventPublished(type).inc();
        return envelope;
      },
    );
  }

  /** PUBLISH (SPUBLISH when sharded) of one envelope; not async, so the untraced publish awaits once. */
  private send(envelope: EventEnvelope): Promise<unknown> {
    const { client } = this.connection;
    const payload = JSON.stringify(envelope);
    return this.sharded
      ? client.spublish(this.bucketChannelOf(envelope.type), payload)
      : client.publish(this.channelPrefix + envelope.type, payload);
  }

  /**
   * Calls `handler` for every event whose type matches `pattern` (`trade.executed`, `market.*`).
   * Resolves once the subscription is active, or after `subscribeTimeoutMs` when Redis cannot be
   * reached (the subscription then becomes active as soon as the connection is back).
   */
  async subscribe<T = unknown>(pattern: string, handler: EventHandler<T>): Promise<EventSubscription> {
    const isPattern = checkEventPattern(pattern);
    if (typeof handler !== 'function') throw new TypeError('subscribe: handler must be a function');
    const channel = this.channelPrefix + pattern;
    let listeners = this.listeners.get(channel);
    const first = listeners === undefined;
    if (listeners === undefined) {
      const matcher = this.sharded && isPattern ? eventPatternMatcher(pattern) : undefined;
      listeners = { pattern, isPattern, handlers: new Set(), matcher };
      this.listeners.set(channel, listeners);
      if (matcher !== undefined) this.patternListeners.add(listeners);
    }
    listeners.handlers.add(handler as EventHandler);
    const subscriber = this.startSubscriber();
    if (first) {
      try {
        if (this.sharded) await this.holdBuckets(subscriber, this.bucketsOf(pattern, isPattern), 1);
        else await (isPattern ? subscriber.psubscribe(channel) : subscriber.subscribe(channel));
      } catch (error) {
        this.warnings.report('subscribe', `subscribing to ${pattern} failed (retried on reconnect)`, error);
      }
    }
    await this.waitListening();
    return {
      pattern,
      unsubscribe: () => this.unsubscribe(channel, handler as EventHandler),
    };
  }

  /**
   * The fallback hook: `listener` runs each time the bus listens again after losing its connection,
   * with the window during which events may have been missed. Returns a function that removes it.
   */
  onReconnect(listener: ReconnectListener): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** `listener` runs when the subscriber connection is lost (switch to polling until onReconnect). */
  onDisconnect(listener: (disconnectedAt: Date) => unknown): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  /**
   * The polling fallback: while the subscriber connection is down, runs `poll` every `everyMs` with
   * the window not covered yet (reaching back `overlapMs`, default 1 s, for writes stamped before
   * they were visible), and a last time when the bus listens again (`final`), so that work whose
   * events were missed is found in the source of truth. `when` limits it to, say, the leader.
   * Returns a function that stops it. What `poll` throws is logged and counted; its window is given
   * again at the next tick. Make the work idempotent: windows overlap, and an event may both arrive
   * and fall in a window.
   *
   * @example
   * bus.pollWhileDisconnected(({ from, to }) => orders.resumeBetween(from, to), {
   *   everyMs: 1_000,
   *   when: () => elector.isLeader(),
   * });
   */
  pollWhileDisconnected(poll: MissedWindowPoll, options: PollWhileDisconnectedOptions): () => void {
    if (typeof poll !== 'function') throw new TypeError('pollWhileDisconnected: poll must be a function');
    const { everyMs, when = () => true, overlapMs = 1_000 } = options;
    if (!Number.isInteger(everyMs) || everyMs < 10 || everyMs > 86_400_000) {
      throw new MessagingOptionsError(
        'everyMs',
        `must be a whole number of ms from 10 to 86400000, got ${String(everyMs)}`,
      );
    }
    if (typeof when !== 'function') throw new MessagingOptionsError('when', 'must be a function');
    if (!Number.isInteger(overlapMs) || overlapMs < 0 || overlapMs > 86_400_000) {
      throw new MessagingOptionsError(
        'overlapMs',
        `must be a whole number of ms from 0 to 86400000, got ${String(overlapMs)}`,
      );
    }
    const poller = new DisconnectedPoller(poll, { everyMs, when, overlapMs }, (error) => {
      this.metrics.fallbackPolls.inc({ outcome: error === undefined ? 'ok' : 'failed' });
      if (error !== undefined)
        this.warnings.report('poll', 'a poll of the events missed while disconnected failed', error);
    });
    this.pollers.add(poller);
    // The poller learns of outages from the subscriber connection, which it needs started.
    this.startSubscriber();
    if (this.disconnectedAt !== undefined) poller.disconnected(this.disconnectedAt);
    return () => {
      poller.stop();
      this.pollers.delete(poller);
    };
  }

  /** True while the subscriber connection is up and subscribed. */
  get isListening(): boolean {
    return this.subscriber?.isListening ?? false;
  }

  /** Closes the subscriber connection. Publishing still works (it uses the shared connection). */
  async close(): Promise<void> {
    const { subscriber } = this;
    this.subscriber = undefined;
    this.listening = undefined;
    for (const poller of this.pollers) poller.stop();
    this.pollers.clear();
    await subscriber?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private startSubscriber(): DedicatedSubscriber {
    if (this.subscriber) return this.subscriber;
    this.listening = new Promise<void>((resolve) => (this.markListening = resolve));
    this.subscriber = new DedicatedSubscriber({
      client: this.connection.client,
      role: 'events',
      connectionName: `${this.connection.options.clientName || 'redkit'}:events`,
      sharded: this.sharded,
      // subscribe() bounds each caller's wait by subscribeTimeoutMs; the connection waits as long as it takes.
      startTimeoutMs: Number.POSITIVE_INFINITY,
      // A channel the ACL refuses today may be allowed tomorrow: keep retrying, with throttled warnings.
      stopWhenRefused: false,
      onMessage: (channel, message) =>
        this.sharded ? this.dispatchShard(channel, message) : this.dispatch(channel, channel, message),
      onPatternMessage: (pattern, channel, message) => this.dispatch(pattern, channel, message),
      onListening: (again) => this.listeningAgain(again),
      onLost: () => {
        const at = new Date();
        this.disconnectedAt ??= at;
        this.logger.warn('subscriber connection lost; events published meanwhile are not received');
        for (const poller of this.pollers) poller.disconnected(this.disconnectedAt ?? at);
        for (const listener of this.disconnectListeners) this.callHook('onDisconnect', () => listener(at));
      },
      onError: (error) => this.warnings.report('connection', 'subscriber connection failed', error),
    });
    // Unbounded, it rejects only when close() comes first; failures go to onError meanwhile.
    this.subscriber.start().catch(() => undefined);
    return this.subscriber;
  }

  private async waitListening(): Promise<void> {
    const { listening } = this;
    if (listening === undefined || this.subscriber?.isListening) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.subscribeTimeoutMs);
      timer.unref();
    });
    const late = await Promise.race([listening.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      this.logger.warn(
        `subscriber not listening within ${this.options.subscribeTimeoutMs} ms; subscriptions start once it is`,
      );
    }
  }

  private listeningAgain(again: boolean): void {
    this.markListening?.();
    this.markListening = undefined;
    if (!again) return;
    this.metrics.resubscriptions.inc();
    const reconnectedAt = new Date();
    const info: ReconnectInfo = { disconnectedAt: this.disconnectedAt ?? reconnectedAt, reconnectedAt };
    this.disconnectedAt = undefined;
    this.logger.log('subscriber listening again; running the reconnect hooks');
    for (const listener of this.reconnectListeners) this.callHook('onReconnect', () => listener(info));
    for (const poller of this.pollers) void poller.reconnected(info);
  }

  private async unsubscribe(channel: string, handler: EventHandler): Promise<void> {
    const listeners = this.listeners.get(channel);
    if (!listeners?.handlers.delete(handler) || listeners.handlers.size > 0) return;
    this.listeners.delete(channel);
    this.patternListeners.delete(listeners);
    try {
      const { subscriber } = this;
      if (this.sharded) {
        const pattern = channel.slice(this.channelPrefix.length);
        if (subscriber) await this.holdBuckets(subscriber, this.bucketsOf(pattern, listeners.isPattern), -1);
      } else {
        await (listeners.isPattern ? subscriber?.punsubscribe(channel) : subscriber?.unsubscribe(channel));
      }
    } catch (error) {
      this.warnings.report('subscribe', `unsubscribing from ${channel} failed`, error);
    }
  }

  private dispatch(subscription: string, channel: string, message: string): void {
    const listeners = this.listeners.get(subscription);
    if (listeners === undefined) return;
    const type = channel.startsWith(this.channelPrefix) ? channel.slice(this.channelPrefix.length) : channel;
    const envelope = parseEnvelope(message, type);
    if (typeof envelope === 'string') {
      this.metrics.malformed.inc();
      this.warnings.report('malformed', `dropped a malformed event on ${channel}: ${envelope}`);
      return;
    }
    this.metrics.eventReceived(type).inc();
    this.deliver(listeners, envelope);
  }

  /**
   * Sharded: a message on a bucket channel, for the exact subscription of its type and every pattern
   * subscription that matches it. A type that does not hash to the channel's bucket is malformed.
   */
  private dispatchShard(channel: string, message: string): void {
    const bucket = this.bucketOfChannel.get(channel);
    if (bucket === undefined) return;
    const envelope = parseEnvelope(message);
    const reason =
      typeof envelope === 'string'
        ? envelope
        : this.bucketOf(envelope.type) === bucket
          ? undefined
          : `type ${JSON.stringify(envelope.type)} does not belong to bucket ${bucket}`;
    if (reason !== undefined) {
      this.metrics.malformed.inc();
      this.warnings.report('malformed', `dropped a malformed event on ${channel}: ${reason}`);
      return;
    }
    const event = envelope as EventEnvelope;
    const exact = this.listeners.get(this.channelPrefix + event.type);
    let received = false;
    if (exact !== undefined && !exact.isPattern) {
      received = true;
      this.deliver(exact, event);
    }
    for (const listeners of this.patternListeners) {
      if (!(listeners.matcher as RegExp).test(event.type)) continue;
      received = true;
      this.deliver(listeners, event);
    }
    if (received) this.metrics.eventReceived(event.type).inc();
  }

  /** The bucket channel of a type. */
  private bucketChannelOf(type: string): string {
    return this.bucketChannels[this.bucketOf(type)] as string;
  }

  private bucketOf(type: string): number {
    let bucket = this.bucketByType.get(type);
    if (bucket === undefined) {
      // Types are a small set in practice; a flood of distinct ones only costs re-hashing.
      if (this.bucketByType.size >= MAX_MEMOIZED_TYPES) this.bucketByType.clear();
      bucket = eventBucket(type, this.bucketChannels.length);
      this.bucketByType.set(type, bucket);
    }
    return bucket;
  }

  /** The buckets a subscription listens to: its type's, or every one for a pattern. */
  private bucketsOf(pattern: string, isPattern: boolean): number[] {
    if (isPattern) return this.bucketChannels.map((_, bucket) => bucket);
    return [this.bucketOf(pattern)];
  }

  /**
   * Takes (`change` 1) or lets go of (-1) `buckets`: a bucket channel is subscribed when its first
   * holder comes and unsubscribed when its last one goes. Rejects with the first failure, once every
   * change was tried.
   */
  private async holdBuckets(
    subscriber: DedicatedSubscriber,
    buckets: number[],
    change: 1 | -1,
  ): Promise<void> {
    const changes: Array<Promise<void>> = [];
    for (const bucket of buckets) {
      const holds = (this.bucketHolds[bucket] as number) + change;
      this.bucketHolds[bucket] = holds;
      const channel = this.bucketChannels[bucket] as string;
      if (change === 1 && holds === 1) {
        const subscribing = subscriber.subscribe(channel);
        this.bucketSubscribing[bucket] = subscribing;
        const done = () => {
          if (this.bucketSubscribing[bucket] === subscribing) this.bucketSubscribing[bucket] = undefined;
        };
        subscribing.then(done, done);
        changes.push(subscribing);
      } else if (change === 1) {
        const subscribing = this.bucketSubscribing[bucket];
        if (subscribing !== undefined) changes.push(subscribing);
      }
      if (change === -1 && holds === 0) changes.push(subscriber.unsubscribe(channel));
    }
    const failed = (await Promise.allSettled(changes)).find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * Runs one subscription's handlers for an event, in the publisher's context: its correlation id
   * and, while traced, a `<type> receive` span under its publish span. An event that carries nothing
   * to restore (published outside any request, untraced), received where no correlation id is set
   * either, runs as is: nothing per event then.
   */
  private deliver(listeners: Listeners, envelope: EventEnvelope): void {
    if (messagingTracer.enabled) {
      runInRestoredContext(envelope, () =>
        traceReceive(
          (this.spanAttributes ??= messagingSpanAttributes(this.connection)),
          envelope,
          listeners.pattern,
          (span) => this.invokeAll(listeners, envelope, span),
        ),
      );
      return;
    }
    if (
      envelope.correlationId === envelope.id &&
      envelope.traceparent === undefined &&
      currentCorrelationId() === undefined
    ) {
      this.invokeAll(listeners, envelope, undefined);
      return;
    }
    runInRestoredContext(envelope, () => this.invokeAll(listeners, envelope, undefined));
  }

  /** Calls every handler; with a span, resolves once the async ones settled (the span ends then). */
  private invokeAll(
    listeners: Listeners,
    envelope: EventEnvelope,
    span: RedkitSpan | undefined,
  ): Promise<unknown> | undefined {
    let running: Promise<unknown>[] | undefined;
    for (const handler of listeners.handlers) {
      const result = this.invoke(handler, envelope, span);
      if (result !== undefined && span !== undefined) (running ??= []).push(result);
    }
    return running === undefined ? undefined : Promise.all(running);
  }

  /** Calls one handler; what it throws or rejects is logged and counted, never passed on. */
  private invoke(
    handler: EventHandler,
    envelope: EventEnvelope,
    span: RedkitSpan | undefined,
  ): Promise<unknown> | undefined {
    try {
      const result = handler(envelope);
      if (result instanceof Promise) {
        return result.then(undefined, (error: unknown) => this.handlerFailed(envelope, error, span));
      }
    } catch (error) {
      this.handlerFailed(envelope, error, span);
    }
    return undefined;
  }

  private handlerFailed(envelope: EventEnvelope, error: unknown, span: RedkitSpan | undefined): void {
    if (span !== undefined) recordSpanError(span, error);
    this.metrics.eventHandlerFailed(envelope.type).inc();
    this.warnings.report('handler', `a handler of ${envelope.type} (event ${envelope.id}) failed`, error);
  }

  private callHook(name: string, call: () => unknown): void {
    try {
      const result = call();
      if (result instanceof Promise)
        result.catch((error: unknown) => this.warnings.report(name, `${name} listener failed`, error));
    } catch (error) {
      this.warnings.report(name, `${name} listener failed`, error);
    }
  }
}
