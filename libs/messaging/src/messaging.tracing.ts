import {
  RedkitTracer,
  SPAN_ATTRIBUTES,
  extractTraceContext,
  injectTraceContext,
  recordSpanError,
  redisSpanAttributes,
  type RedisConnection,
  type RedkitSpan,
  type SpanAttributes,
  type TraceContext,
} from '@redkit/redis';

import type { StreamOutcome } from './messaging.metrics.js';
import { FIELD_TRACEPARENT, FIELD_TRACESTATE } from './stream-message.js';
import type { FailureVerdict } from './stream-scripts.js';

/**
 * The messaging spans: recorded only while an OpenTelemetry tracer provider is registered. Every
 * caller checks `messagingTracer.enabled` first, so with tracing off none of this file runs.
 */
export const messagingTracer = new RedkitTracer('@redkit/messaging');

/**
 * Attribute names of the messaging spans: OpenTelemetry's messaging semantic conventions where they
 * define one, `redkit.stream.*` for what is redkit's own.
 */
export const MESSAGING_SPAN_ATTRIBUTES = Object.freeze({
  SYSTEM: 'messaging.system',
  OPERATION_TYPE: 'messaging.operation.type',
  OPERATION_NAME: 'messaging.operation.name',
  DESTINATION_NAME: 'messaging.destination.name',
  SUBSCRIPTION_NAME: 'messaging.destination.subscription.name',
  MESSAGE_ID: 'messaging.message.id',
  /** The correlation id, which OpenTelemetry calls the conversation id. */
  CONVERSATION_ID: 'messaging.message.conversation_id',
  CONSUMER_GROUP_NAME: 'messaging.consumer.group.name',
  BATCH_MESSAGE_COUNT: 'messaging.batch.message_count',
  STREAM_PRIORITY: 'redkit.stream.priority',
  STREAM_DELIVERIES: 'redkit.stream.deliveries',
  STREAM_OUTCOME: 'redkit.stream.outcome',
} as const);

const A = MESSAGING_SPAN_ATTRIBUTES;

/** `redkit.stream.outcome`: how a processed entry was settled (`lost`: another consumer had it by then). */
export type ProcessOutcome = Exclude<StreamOutcome, 'published'> | 'lost';

/**
 * The attributes every messaging span on `connection` shares: `messaging.system` (`redis`) and, for a
 * standalone server, `server.address` and `server.port`. Not `db.*`: these are messaging spans, and a
 * backend would file them under database calls. Made once per producer, bus or consumer.
 */
export function messagingSpanAttributes(connection: RedisConnection): SpanAttributes {
  const server = redisSpanAttributes(connection);
  const attributes: Record<string, string | number> = { [A.SYSTEM]: 'redis' };
  const address = server[SPAN_ATTRIBUTES.SERVER_ADDRESS];
  const port = server[SPAN_ATTRIBUTES.SERVER_PORT];
  if (typeof address === 'string') attributes[SPAN_ATTRIBUTES.SERVER_ADDRESS] = address;
  if (typeof port === 'number') attributes[SPAN_ATTRIBUTES.SERVER_PORT] = port;
  return Object.freeze(attributes);
}

/**
 * The active span's W3C trace context (`traceparent`, and `tracestate` when it has one), or
 * undefined when none is active. Only those two fields go on the wire: what else a registered
 * propagator writes (baggage, a vendor's own headers) is not carried.
 */
export function activeTraceFields(): { traceparent: string; tracestate?: string } | undefined {
  const carrier: Record<string, string> = {};
  if (!injectTraceContext(carrier)) return undefined;
  const traceparent = carrier[FIELD_TRACEPARENT];
  if (traceparent === undefined) return undefined;
  const tracestate = carrier[FIELD_TRACESTATE];
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/** The parent a message's `traceparent` / `tracestate` give, or undefined (none, or malformed). */
export function carriedParent(traceparent: unknown, tracestate: unknown): TraceContext | undefined {
  if (typeof traceparent !== 'string') return undefined;
  return extractTraceContext(typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent });
}

/**
 * Runs a stream publish in a `<stream> publish` producer span; `add` gets the trace-context fields to
 * append to the entry (so the consumer's span is a child of this one) and resolves with the entry id.
 */
export function tracePublish(
  server: SpanAttributes,
  stream: string,
  priority: string,
  correlationId: string | undefined,
  add: (trace: readonly string[]) => Promise<string>,
): Promise<string> {
  const attributes: Record<string, string | number> = {
    ...server,
    [A.OPERATION_TYPE]: 'send',
    [A.OPERATION_NAME]: 'publish',
    [A.DESTINATION_NAME]: stream,
    [A.STREAM_PRIORITY]: priority,
  };
  if (correlationId !== undefined) attributes[A.CONVERSATION_ID] = correlationId;
  return messagingTracer.trace(`${stream} publish`, { kind: 'producer', attributes }, async (span) => {
    const fields = activeTraceFields();
    const trace =
      fields === undefined
        ? []
        : fields.tracestate === undefined
          ? [FIELD_TRACEPARENT, fields.traceparent]
          : [FIELD_TRACEPARENT, fields.traceparent, FIELD_TRACESTATE, fields.tracestate];
    const id = await add(trace);
    span.setAttribute(A.MESSAGE_ID, id);
    return id;
  });
}

/** What a stream entry's spans describe. */
export interface TracedEntry {
  readonly id: string;
  readonly stream: string;
  readonly group: string;
  readonly priority: string;
  readonly deliveries: number;
  readonly correlationId?: string | undefined;
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

function entryAttributes(
  server: SpanAttributes,
  entry: TracedEntry,
  operationType: string,
  operationName: string,
): Record<string, string | number> {
  const attributes: Record<string, string | number> = {
    ...server,
    [A.OPERATION_TYPE]: operationType,
    [A.OPERATION_NAME]: operationName,
    [A.DESTINATION_NAME]: entry.stream,
    [A.CONSUMER_GROUP_NAME]: entry.group,
    [A.MESSAGE_ID]: entry.id,
    [A.STREAM_PRIORITY]: entry.priority,
    [A.STREAM_DELIVERIES]: entry.deliveries,
  };
  if (entry.correlationId !== undefined) attributes[A.CONVERSATION_ID] = entry.correlationId;
  return attributes;
}

/**
 * Starts the `<stream> process` consumer span of one delivery: a child of the producer's span when
 * the entry carries its trace context, else the root of a trace of its own (never a child of
 * whatever the consumer's read loop happened to run in). Ended by {@link endProcess} once settled.
 */
export function startProcess(server: SpanAttributes, entry: TracedEntry): RedkitSpan {
  const parent = carriedParent(entry.traceparent, entry.tracestate);
  return messagingTracer.startSpan(`${entry.stream} process`, {
    kind: 'consumer',
    attributes: entryAttributes(server, entry, 'process', 'process'),
    ...(parent === undefined ? { root: true } : { parent }),
  });
}

/** Ends a process span with how its entry was settled. */
export function endProcess(span: RedkitSpan, outcome: ProcessOutcome): void {
  span.setAttribute(A.STREAM_OUTCOME, outcome);
  span.end();
}

/**
 * Ends the process spans of the entries one XACK settled: `acked`, with an `ack` event carrying the
 * size of that XACK (acks of one event-loop turn go out together), or the XACK's error (they stay
 * pending and are delivered again).
 */
export function endAcked(spans: readonly RedkitSpan[], batchSize: number, error?: unknown): void {
  for (const span of spans) {
    if (error === undefined) {
      span.addEvent('ack', { [A.BATCH_MESSAGE_COUNT]: batchSize });
      endProcess(span, 'acked');
    } else {
      recordSpanError(span, error);
      span.end();
    }
  }
}

/** `redkit.stream.outcome` and the span name of each verdict of the failure-settling script. */
const VERDICTS: Readonly<Record<FailureVerdict, { outcome: ProcessOutcome; name: string }>> = Object.freeze({
  retry: { outcome: 'retried', name: 'retry' },
  dead: { outcome: 'dead_lettered', name: 'dead-letter' },
  deleted: { outcome: 'deleted', name: 'settle' },
  lost: { outcome: 'lost', name: 'settle' },
});

/**
 * Runs the settlement of a failed delivery in a client span under its process span (an entry settled
 * without running, malformed or claimed after its consumers died on it, gets a trace of its own):
 * `<stream> retry` when it stays pending to be delivered again, `<stream> dead-letter` when it was
 * moved to the dead-letter stream (`<stream> settle` when it was gone). The process span, when there
 * is one, gets the outcome and ends with it.
 */
export function traceSettleFailure(
  server: SpanAttributes,
  entry: TracedEntry,
  process: RedkitSpan | undefined,
  settle: () => Promise<[FailureVerdict, number]>,
): Promise<[FailureVerdict, number]> {
  const attributes = entryAttributes(server, entry, 'settle', 'settle');
  const start = (): Promise<[FailureVerdict, number]> => {
    return messagingTracer.trace(
      `${entry.stream} settle`,
      { kind: 'client', attributes, root: process === undefined },
      async (span) => {
        const reply = await settle();
        const [verdict, deliveries] = reply;
        const { outcome, name } = VERDICTS[verdict];
        span.updateName(`${entry.stream} ${name}`);
        span.setAttributes({
          [A.OPERATION_NAME]: name,
          [A.STREAM_OUTCOME]: outcome,
          [A.STREAM_DELIVERIES]: deliveries,
        });
        return reply;
      },
    );
  };
  const settled = process === undefined ? start() : messagingTracer.withSpan(process, start);
  if (process === undefined) return settled;
  return settled.then(
    (reply) => {
      endProcess(process, VERDICTS[reply[0]].outcome);
      return reply;
    },
    (error: unknown) => {
      process.end();
      throw error;
    },
  );
}

/** What an event's spans describe. */
export interface TracedEvent {
  readonly id: string;
  readonly type: string;
  readonly correlationId: string;
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

/** The attributes of an event's `<type> publish` producer span, before the envelope exists. */
export function eventPublishAttributes(server: SpanAttributes, type: string): SpanAttributes {
  return {
    ...server,
    [A.OPERATION_TYPE]: 'send',
    [A.OPERATION_NAME]: 'publish',
    [A.DESTINATION_NAME]: type,
  };
}

/** What the envelope adds to its publish span: its id and correlation id. */
export function describePublished(span: RedkitSpan, event: TracedEvent): void {
  span.setAttributes({ [A.MESSAGE_ID]: event.id, [A.CONVERSATION_ID]: event.correlationId });
}

/**
 * Runs the handlers one subscription has for an event in a `<type> receive` consumer span, a child
 * of the publisher's span when the envelope carries its trace context (else the root of a trace of
 * its own). `run` returns a promise when a handler is async: the span ends once they all settled.
 * `messaging.operation.type` is `process`: pub/sub pushes the event and the span covers the
 * handlers, which is what OpenTelemetry calls processing.
 */
export function traceReceive<R>(
  server: SpanAttributes,
  event: TracedEvent,
  subscription: string,
  run: (span: RedkitSpan) => R,
): R {
  const parent = carriedParent(event.traceparent, event.tracestate);
  const attributes = {
    ...server,
    [A.OPERATION_TYPE]: 'process',
    [A.OPERATION_NAME]: 'receive',
    [A.DESTINATION_NAME]: event.type,
    [A.SUBSCRIPTION_NAME]: subscription,
    [A.MESSAGE_ID]: event.id,
    [A.CONVERSATION_ID]: event.correlationId,
  };
  return messagingTracer.trace(
    `${event.type} receive`,
    { kind: 'consumer', attributes, ...(parent === undefined ? { root: true } : { parent }) },
    run,
  );
}
