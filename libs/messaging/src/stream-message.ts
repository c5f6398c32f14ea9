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
  correlationId?: string;
  /** How many times it has been delivered, this one included (1 on the first delivery). */
  deliveries: number;
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
/** The wire format's version (see the README's "Wire format"); absent means 1. */
export const FIELD_VERSION = 'v';
/** The newest wire format this redkit writes and reads. */
export const WIRE_VERSION = '1';

/**
 * Decodes an entry's flat field list. Returns a message, or a string saying why the entry is
 * malformed (written by something other than `StreamProducer`).
 */
export function decodeEntry(
  id: string,
  fields: readonly string[],
  stream: string,
  group: string,
  deliveries: number,
): StreamMessage | string {
  let type: string | undefined;
  let data: string | undefined;
  let time: string | undefined;
  let source = '';
  let correlationId: string | undefined;
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
  };
  if (correlationId !== undefined) message.correlationId = correlationId;
  return message;
}
