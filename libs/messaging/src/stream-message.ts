/**
 * The lane of a stream entry. A consumer starts handlers for higher lanes first, with a bounded share
 * for every lower lane that has entries (see `priorityWeights`), so `low` still progresses under a
 * `critical` flood.
 */
export type MessagePriority = 'critical' | 'high' | 'normal' | 'low';

/** Every priority, highest first: the index of a priority here is its lane's index everywhere. */
export const MESSAGE_PRIORITIES: readonly MessagePriority[] = Object.freeze([
  'critical',
  'high',
  'normal',
  'low',
]);

/** The priority of entries published without one, whose lane is the stream's original key. */
export const DEFAULT_PRIORITY: MessagePriority = 'normal';

/** True for one of {@link MESSAGE_PRIORITIES}. */
export function isMessagePriority(value: unknown): value is MessagePriority {
  return value === 'critical' || value === 'high' || value === 'normal' || value === 'low';
}

/** One stream entry as a handler receives it. */
export interface StreamMessage<T = unknown> {
  /** The entry id Redis gave it (`<ms>-<seq>`). */
  id: string;
  stream: string;
  group: string;
  type: string;
  data: T;
  /** When it was published (publisher's clock). */
  time: Date;
  source: string;
  /** The id that ties it to the request or event that caused it (see the README's "Correlation and tracing"). */
  correlationId?: string;
  /** The publisher's W3C trace context, written while it was traced: the parent of the consumer's span. */
  traceparent?: string;
  /** Vendor trace state beside {@link traceparent}, when the publisher's trace had one. */
  tracestate?: string;
  /** How many times it has been delivered, this one included (1 on the first delivery). */
  deliveries: number;
  /** The lane it was read from (a retry keeps it: it is claimed again on the same lane). */
  priority: MessagePriority;
}

/**
 * Handles one entry. Resolving acknowledges it; throwing or rejecting delivers it again later, up to
 * `maxDeliveries` times in all, after which it goes to the dead-letter stream.
 */
export type StreamMessageHandler<T = unknown> = (message: StreamMessage<T>) => unknown;

/** Stream entry field names, as `StreamProducer` writes them. */
export const FIELD_TYPE = 'type';
export const FIELD_DATA = 'data';
export const FIELD_TIME = 'time';
export const FIELD_SOURCE = 'source';
export const FIELD_CORRELATION_ID = 'correlationId';
/** The publisher's W3C trace context (`00-<trace id>-<span id>-<flags>`), written while it is traced. */
export const FIELD_TRACEPARENT = 'traceparent';
export const FIELD_TRACESTATE = 'tracestate';
/** An entry's lane, written on entries of every lane but `normal`; informative, the key decides. */
export const FIELD_PRIORITY = 'priority';
/** The wire format's version (see the README's "Wire format"); absent means 1. */
export const FIELD_VERSION = 'v';
/** The newest wire format this redkit writes and reads. */
export const WIRE_VERSION = '1';

/**
 * Decodes an entry's flat field list. Returns a message, or a string saying why the entry is
 * malformed (written by something other than `StreamProducer`). `priority` is the lane it was read
 * from: the lane, not a `priority` field, says where it is retried and settled.
 */
export function decodeEntry(
  id: string,
  fields: readonly string[],
  stream: string,
  group: string,
  deliveries: number,
  priority: MessagePriority = DEFAULT_PRIORITY,
): StreamMessage | string {
  let type: string | undefined;
  let data: string | undefined;
  let time: string | undefined;
  let source = '';
  let correlationId: string | undefined;
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  let version: string | undefined;
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const value = fields[index + 1] as string;
    switch (fields[index]) {
      case FIELD_TYPE:
        type = value;
        break;
      case FIELD_DATA:
        data = value;
        break;
      case FIELD_TIME:
        time = value;
        break;
      case FIELD_SOURCE:
        source = value;
        break;
      case FIELD_CORRELATION_ID:
        correlationId = value;
        break;
      case FIELD_TRACEPARENT:
        traceparent = value;
        break;
      case FIELD_TRACESTATE:
        tracestate = value;
        break;
      case FIELD_VERSION:
        version = value;
        break;
    }
  }
  if (version !== undefined && version !== WIRE_VERSION)
    return `its wire format version "${version}" is not one this redkit reads (${WIRE_VERSION})`;
  if (type === undefined) return 'it has no "type" field';
  if (data === undefined) return 'it has no "data" field';
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return 'its "data" field is not JSON';
  }
  const message: StreamMessage = {
    id,
    stream,
    group,
    type,
    data: parsed,
    time: new Date(Number(time ?? id.slice(0, id.indexOf('-')))),
    source,
    deliveries,
    priority,
  };
  if (correlationId !== undefined) message.correlationId = correlationId;
  if (traceparent !== undefined) message.traceparent = traceparent;
  if (tracestate !== undefined) message.tracestate = tracestate;
  return message;
}
