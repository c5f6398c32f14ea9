import {
  MetricsService,
  type DeferredCounter,
  type DeferredCounterChild,
  type DeferredHistogram,
  type DeferredHistogramChild,
} from '@redkit/metrics';
import type { Counter, Gauge } from 'prom-client';

import { MESSAGE_PRIORITIES, type MessagePriority } from './stream-message.js';

/** What happened to a stream entry. */
export type StreamOutcome = 'published' | 'acked' | 'retried' | 'dead_lettered' | 'deleted';

/** Distinct event types labelled before the rest are counted as `other`, so a `*` subscriber cannot explode cardinality. */
const MAX_TYPE_LABELS = 500;

/** The children of one stream and group, bound once per consumer. */
export interface StreamMetrics {
  outcome(outcome: StreamOutcome): DeferredCounterChild;
  readonly handlerSeconds: DeferredHistogramChild;
  setPending(count: number): void;
  /** The children of one priority lane. */
  lane(priority: MessagePriority): LaneMetrics;
}

/** The children of one priority lane of a stream and group. */
export interface LaneMetrics {
  outcome(outcome: StreamOutcome): DeferredCounterChild;
  setPending(count: number): void;
}

/** The partition metrics of one partitioned stream and group, bound once per member. */
export interface PartitionMetrics {
  /** Partitions this member holds and consumes. */
  setOwned(count: number): void;
  /** This member took a partition whose lease was `free` (released, or never held) or had `expired`. */
  tookOver(lease: 'free' | 'expired'): void;
}

/** redkit_events_* and redkit_stream_* metrics; see the README for what each counts. */
export class MessagingMetrics {
  private readonly published: DeferredCounter<'type'>;
  private readonly received: DeferredCounter<'type'>;
  private readonly publishedByType = new Map<string, DeferredCounterChild>();
  private readonly receivedByType = new Map<string, DeferredCounterChild>();
  readonly malformed: Counter;
  /** Polls of the fallback that ran while (or as) the bus was down, by outcome `ok` / `failed`. */
  readonly fallbackPolls: Counter<'outcome'>;
  /** The bus's subscriptions came back by themselves after a lost connection or a moved shard channel. */
  readonly resubscriptions: Counter;
  private readonly handlerErrors: DeferredCounter<'type'>;
  private readonly handlerErrorsByType = new Map<string, DeferredCounterChild>();
  private readonly streamMessages: DeferredCounter<'stream' | 'outcome'>;
  private readonly pending: Gauge<'stream' | 'group'>;
  private readonly handlerDuration: DeferredHistogram<'stream' | 'group'>;
  private readonly laneMessages: DeferredCounter<'stream' | 'priority' | 'outcome'>;
  private readonly lanePending: Gauge<'stream' | 'group' | 'priority'>;
  /** Per stream, the `published` child of each lane (in MESSAGE_PRIORITIES order). */
  private readonly lanePublishedByStream = new Map<string, DeferredCounterChild[]>();
  private readonly partitionsOwned: Gauge<'stream' | 'group'>;
  private readonly partitionTakeovers: Counter<'stream' | 'group' | 'lease'>;
  private readonly durability: DeferredCounter<'stream' | 'outcome'>;
  /** Per stream, its `acknowledged` and `unacknowledged` children, in that order. */
  private readonly durabilityByStream = new Map<string, readonly DeferredCounterChild[]>();
  private durabilityOther?: readonly DeferredCounterChild[];

  constructor(metrics: MetricsService) {
    this.published = metrics.deferredCounter({
      name: 'redkit_events_published_total',
      help: 'Events published on the event bus, by type.',
      labelNames: ['type'],
    });
    this.received = metrics.deferredCounter({
      name: 'redkit_events_received_total',
      help: 'Events received by this instance and handed to its handlers, by type.',
      labelNames: ['type'],
    });
    this.malformed = metrics.counter({
      name: 'redkit_events_malformed_total',
      help: 'Messages on event channels that were not valid envelopes; dropped.',
    });
    this.fallbackPolls = metrics.counter({
      name: 'redkit_events_fallback_polls_total',
      help: 'Polls of the events missed while the event bus was disconnected (pollWhileDisconnected), by outcome.',
      labelNames: ['outcome'],
    });
    this.resubscriptions = metrics.counter({
      name: 'redkit_events_resubscriptions_total',
      help: 'Times the event bus subscribed everything again after losing a subscriber connection (a restarted node, a moved shard channel).',
    });
    this.handlerErrors = metrics.deferredCounter({
      name: 'redkit_events_handler_errors_total',
      help: 'Event handlers that threw or rejected, by type.',
      labelNames: ['type'],
    });
    this.streamMessages = metrics.deferredCounter({
      name: 'redkit_stream_messages_total',
      help: 'Stream entries by outcome: published, acked, retried, dead_lettered, deleted (trimmed while pending).',
      labelNames: ['stream', 'outcome'],
    });
    this.pending = metrics.gauge({
      name: 'redkit_stream_pending',
      help: 'Entries delivered to a consumer group and not yet acknowledged, as last sampled.',
      labelNames: ['stream', 'group'],
    });
    this.handlerDuration = metrics.deferredHistogram({
      name: 'redkit_stream_handler_duration_seconds',
      help: 'How long stream handlers ran, successful or not.',
      labelNames: ['stream', 'group'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    });
    // Beside redkit_stream_messages_total rather than a label added to it, so that the dashboards and
    // alert rules summing that one by (stream, outcome) keep their meaning.
    this.laneMessages = metrics.deferredCounter({
      name: 'redkit_stream_lane_messages_total',
      help: 'Stream entries by priority lane and outcome: published, acked, retried, dead_lettered, deleted.',
      labelNames: ['stream', 'priority', 'outcome'],
    });
    this.lanePending = metrics.gauge({
      name: 'redkit_stream_lane_pending',
      help: 'Entries of one priority lane delivered to a consumer group and not yet acknowledged, as last sampled.',
      labelNames: ['stream', 'group', 'priority'],
    });
    this.partitionsOwned = metrics.gauge({
      name: 'redkit_stream_partitions_owned',
      help: 'Partitions of a partitioned stream this instance holds and consumes, by stream and group.',
      labelNames: ['stream', 'group'],
    });
    this.partitionTakeovers = metrics.counter({
      name: 'redkit_stream_partition_takeovers_total',
      help: 'Partitions this instance took over, by the state of their lease: free (released) or expired (its holder died or stalled).',
      labelNames: ['stream', 'group', 'lease'],
    });
    // Its own counter, as redkit_lock_durability_total and redkit_orderbook_durability_total are,
    // rather than an outcome of redkit_stream_messages_total: an unacknowledged entry may still have
    // been published, and the dashboards summing that one by outcome count entries, not WAITs.
    this.durability = metrics.deferredCounter({
      name: 'redkit_stream_durability_total',
      help: 'Durable stream publishes (durability option) by stream and whether enough replicas acknowledged them in time (acknowledged, unacknowledged).',
      labelNames: ['stream', 'outcome'],
    });
  }

  /** Counts what WAIT answered for a durable publish to `stream` (streams past the first 500: `other`). */
  durablePublish(stream: string, acknowledged: boolean): void {
    let children = this.durabilityByStream.get(stream);
    if (children === undefined) {
      if (this.durabilityByStream.size < MAX_TYPE_LABELS) {
        children = this.durabilityChildren(stream);
        this.durabilityByStream.set(stream, children);
      } else {
        children = this.durabilityOther ??= this.durabilityChildren('other');
      }
    }
    (children[acknowledged ? 0 : 1] as DeferredCounterChild).inc();
  }

  private durabilityChildren(stream: string): readonly DeferredCounterChild[] {
    return [
      this.durability.labels({ stream, outcome: 'acknowledged' }),
      this.durability.labels({ stream, outcome: 'unacknowledged' }),
    ];
  }

  /** One member's partition metrics; members of one stream and group in one process add up. */
  forPartitions(stream: string, group: string): PartitionMetrics {
    const { partitionsOwned, partitionTakeovers } = this;
    let owned = 0;
    return {
      setOwned: (count) => {
        partitionsOwned.inc({ stream, group }, count - owned);
        owned = count;
      },
      tookOver: (lease) => partitionTakeovers.inc({ stream, group, lease }),
    };
  }

  eventPublished(type: string): DeferredCounterChild {
    return this.child(this.publishedByType, this.published, type);
  }

  eventReceived(type: string): DeferredCounterChild {
    return this.child(this.receivedByType, this.received, type);
  }

  eventHandlerFailed(type: string): DeferredCounterChild {
    return this.child(this.handlerErrorsByType, this.handlerErrors, type);
  }

  forStream(stream: string, group: string): StreamMetrics {
    const outcomes = new Map<StreamOutcome, DeferredCounterChild>();
    const { streamMessages, pending, laneMessages, lanePending } = this;
    const lanes = MESSAGE_PRIORITIES.map((priority): LaneMetrics => {
      const laneOutcomes = new Map<StreamOutcome, DeferredCounterChild>();
      return {
        outcome(outcome) {
          let child = laneOutcomes.get(outcome);
          if (child === undefined)
            laneOutcomes.set(outcome, (child = laneMessages.labels({ stream, priority, outcome })));
          return child;
        },
        setPending: (count) => lanePending.set({ stream, group, priority }, count),
      };
    });
    return {
      lane: (priority) => lanes[MESSAGE_PRIORITIES.indexOf(priority)] as LaneMetrics,
      outcome(outcome) {
        let child = outcomes.get(outcome);
        if (child === undefined) outcomes.set(outcome, (child = streamMessages.labels({ stream, outcome })));
        return child;
      },
      handlerSeconds: this.handlerDuration.labels({ stream, group }),
      setPending: (count) => pending.set({ stream, group }, count),
    };
  }

  /** The `published` child of one stream, for producers. */
  streamPublished(stream: string): DeferredCounterChild {
    return this.child(this.publishedByStream, this.streamMessages, stream, 'published');
  }

  private readonly publishedByStream = new Map<string, DeferredCounterChild>();

  /** The `published` child of one lane of a stream, for producers (streams past the first 500: `other`). */
  lanePublished(stream: string, lane: number): DeferredCounterChild {
    let children = this.lanePublishedByStream.get(stream);
    if (children === undefined) {
      if (this.lanePublishedByStream.size < MAX_TYPE_LABELS) {
        children = this.lanePublishedChildren(stream);
        this.lanePublishedByStream.set(stream, children);
      } else {
        // Past the bound every stream shares the `other` children, made once.
        children = this.lanePublishedOther ??= this.lanePublishedChildren('other');
      }
    }
    return children[lane] as DeferredCounterChild;
  }

  private lanePublishedOther?: DeferredCounterChild[];

  private lanePublishedChildren(stream: string): DeferredCounterChild[] {
    return MESSAGE_PRIORITIES.map((priority) =>
      this.laneMessages.labels({ stream, priority, outcome: 'published' }),
    );
  }

  private child(
    cache: Map<string, DeferredCounterChild>,
    counter: DeferredCounter<string>,
    value: string,
    outcome?: string,
  ): DeferredCounterChild {
    let child = cache.get(value);
    if (child !== undefined) return child;
    const label = cache.size < MAX_TYPE_LABELS ? value : 'other';
    child =
      outcome === undefined ? counter.labels({ type: label }) : counter.labels({ stream: label, outcome });
    if (cache.size < MAX_TYPE_LABELS) cache.set(value, child);
    return child;
  }
}
