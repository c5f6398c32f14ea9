import { randomUUID } from 'node:crypto';

import { clusterKeySlot } from '@redkit/redis';

import type { EventEnvelope } from './event-bus.types.js';
import { InvalidEventTypeError } from './messaging.errors.js';

/** Longest event type or pattern, in characters. */
export const MAX_EVENT_TYPE_LENGTH = 200;

/** Dot-separated words of letters, digits, `_` and `-`: `trade.executed`, `market.BTC-USD.ticker`. */
const EVENT_TYPE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
/** An event type where any character may also be the glob `*` or `?`: `market.*`, `*.executed`. */
const EVENT_PATTERN = /^[A-Za-z0-9_.*?-]+$/;
const GLOB = /[*?]/;

/**
 * Checks an event type; throws {@link InvalidEventTypeError} otherwise. Types end up in channel names,
 * so they are restricted to characters that are neither key separators nor glob characters.
 */
export function assertEventType(type: unknown): asserts type is string {
  if (typeof type !== 'string' || type.length > MAX_EVENT_TYPE_LENGTH || !EVENT_TYPE.test(type)) {
    throw new InvalidEventTypeError(
      `event type must be dot-separated words of A-Z a-z 0-9 _ - (at most ${MAX_EVENT_TYPE_LENGTH} characters), got ${JSON.stringify(type)}`,
    );
  }
}

/** Checks a subscription pattern (an event type, or one with `*` / `?` globs); true when it has globs. */
export function checkEventPattern(pattern: unknown): boolean {
  if (typeof pattern !== 'string' || pattern.length > MAX_EVENT_TYPE_LENGTH || !EVENT_PATTERN.test(pattern)) {
    throw new InvalidEventTypeError(
      `event pattern must be an event type with optional * and ? globs (at most ${MAX_EVENT_TYPE_LENGTH} characters), got ${JSON.stringify(pattern)}`,
    );
  }
  return GLOB.test(pattern);
}

/**
 * A glob pattern as Redis matches it against channel names, for the patterns {@link checkEventPattern}
 * admits (`*` any run of characters, dots included; `?` one character; nothing else is special).
 */
export function eventPatternMatcher(pattern: string): RegExp {
  let source = '^';
  for (const character of pattern) {
    if (character === '*') source += '.*';
    else if (character === '?') source += '.';
    else source += character === '.' ? '\\.' : character;
  }
  return new RegExp(`${source}$`, 's');
}

/**
 * The bucket of an event type under sharded pub/sub: `CLUSTER KEYSLOT <type>` modulo `buckets`, so any
 * Redis client can compute it (types hold no `{`, so their whole text is hashed).
 */
export function eventBucket(type: string, buckets: number): number {
  return clusterKeySlot(type) % buckets;
}

/** A new envelope; `type` must already be checked. `trace`: the publisher's trace context, when traced. */
export function createEnvelope<T>(
  type: string,
  data: T,
  source: string,
  correlationId?: string,
  trace?: { traceparent: string; tracestate?: string },
): EventEnvelope<T> {
  const id = randomUUID();
  const time = new Date().toISOString();
  if (trace === undefined) return { id, type, time, correlationId: correlationId ?? id, source, data };
  // Spelled out so that the trace fields come before `data` in the JSON, as the README shows.
  return trace.tracestate === undefined
    ? { id, type, time, correlationId: correlationId ?? id, source, traceparent: trace.traceparent, data }
    : {
        id,
        type,
        time,
        correlationId: correlationId ?? id,
        source,
        traceparent: trace.traceparent,
        tracestate: trace.tracestate,
        data,
      };
}

/**
 * Parses what arrived on `channel`'s event type; returns the envelope, or a string saying why it is
 * malformed (not JSON, a field missing or of the wrong type, a type that is not the channel's). Without
 * `channelType` (a shard channel carries several types) the type must be a valid event type instead.
 */
export function parseEnvelope(raw: string, channelType?: string): EventEnvelope | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const envelope = value as Record<string, unknown>;
  for (const field of ['id', 'type', 'time', 'correlationId', 'source'] as const) {
    if (typeof envelope[field] !== 'string' || envelope[field] === '') {
      return `field "${field}" is missing or not a non-empty string`;
    }
  }
  if (!('data' in envelope)) return 'field "data" is missing';
  // Optional, and only ever a parent for spans: one that is not text is dropped, not the event.
  if (envelope.traceparent !== undefined && typeof envelope.traceparent !== 'string')
    delete envelope.traceparent;
  if (envelope.tracestate !== undefined && typeof envelope.tracestate !== 'string')
    delete envelope.tracestate;
  if (channelType === undefined) {
    const { type } = envelope as { type: string };
    if (type.length > MAX_EVENT_TYPE_LENGTH || !EVENT_TYPE.test(type)) {
      return `type ${JSON.stringify(type)} is not an event type`;
    }
  } else if (envelope.type !== channelType) {
    return `type ${JSON.stringify(envelope.type)} does not match its channel's (${JSON.stringify(channelType)})`;
  }
  return envelope as unknown as EventEnvelope;
}
