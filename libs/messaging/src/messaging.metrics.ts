import {
  MetricsService,
  type DeferredCounter,
  type DeferredCounterChild,
  type DeferredHistogram,
  type DeferredHistogramChild,
} from '@redkit/metrics';
import type { Counter, Gauge } from 'prom-client';

/** What happened to a stream entry. */
export type StreamOutcome = 'published' | 'acked' | 'retried' | 'dead_lettered' | 'deleted';

/** Distinct event types labelled before the rest are counted as `other`, so a `*` subscriber cannot explode cardinality. */
const MAX_TYPE_LABELS = 500;

/** The children of one stream and group, bound once per consumer. */
export interface StreamMetrics {
  outcome(outcome: StreamOutcome): DeferredCounterChild;
  readonly handlerSeconds: DeferredHistogramChild;
  setPending(count: number): void;
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
  private readonly handlerErrors: DeferredCounter<'type'>;
  private readonly handlerErrorsByType = new Map<string, DeferredCounterChild>();
  private readonly streamMessages: DeferredCounter<'stream' | 'outcome'>;
  private readonly pending: Gauge<'stream' | 'group'>;
  private readonly handlerDuration: DeferredHistogram<'stream' | 'group'>;

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
    const { streamMessages, pending } = this;
    return {
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
