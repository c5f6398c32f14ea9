import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

import { InvalidCorrelationIdError } from './tracing.errors.js';

/** The request and response header that carries a correlation id when no `traceparent` does. */
export const CORRELATION_ID_HEADER = 'x-correlation-id';

/** The W3C trace-context header (`00-<trace id>-<parent id>-<flags>`). */
export const TRACEPARENT_HEADER = 'traceparent';

/** The W3C header beside `traceparent` that carries vendor state. */
export const TRACESTATE_HEADER = 'tracestate';

/** Longest correlation id taken from outside; longer ones are ignored, not cut. */
export const MAX_CORRELATION_ID_LENGTH = 128;

/**
 * One AsyncLocalStorage for every copy of @redkit/redis in the process (a duplicate install, dist
 * beside sources), kept on globalThis as OpenTelemetry keeps its API state: a log line written by
 * one copy must see the id another copy's HTTP hook set.
 */
const STORAGE_KEY = Symbol.for('redkit.correlation.storage');
const holder = globalThis as unknown as Record<symbol, AsyncLocalStorage<string> | undefined>;
const storage: AsyncLocalStorage<string> = (holder[STORAGE_KEY] ??= new AsyncLocalStorage<string>());

/** @internal The storage itself, for the HTTP hooks and the trace-context helpers. */
export const correlationStorage = storage;

/** The correlation id of the request, message or job being handled now, if one was set. */
export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` with `id` as the current correlation id (and everything it awaits, schedules or
 * emits from there). Throws {@link InvalidCorrelationIdError} for an id {@link isValidCorrelationId}
 * refuses: it ends up in log lines and headers, so it is checked where it enters.
 *
 * @example
 * await runWithCorrelation(job.correlationId ?? newCorrelationId(), () => handle(job));
 */
export function runWithCorrelation<T>(id: string, fn: () => T): T {
  if (!isValidCorrelationId(id)) throw new InvalidCorrelationIdError(id);
  return storage.run(id, fn);
}

/** A fresh correlation id: 32 lowercase hex digits, the shape of a W3C trace id. */
export function newCorrelationId(): string {
  const uuid = randomUUID();
  return uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(14, 18) + uuid.slice(19, 23) + uuid.slice(24, 36);
}

/** Whether a character code may appear in a correlation id: A-Z a-z 0-9 and `- _ . : / + = @`. */
function isIdCharacter(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    code === 0x2d || // -
    code === 0x5f || // _
    code === 0x2e || // .
    code === 0x3a || // :
    code === 0x2f || // /
    code === 0x2b || // +
    code === 0x3d || // =
    code === 0x40 // @
  );
}

/**
 * Whether `value` may be used as a correlation id: a string of 1 to 128 characters from A-Z a-z 0-9
 * and `- _ . : / + = @`. No spaces, quotes or control characters, so an id from a header cannot
 * split a log line or a response header.
 */
export function isValidCorrelationId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CORRELATION_ID_LENGTH)
    return false;
  for (let index = 0; index < value.length; index += 1) {
    if (!isIdCharacter(value.charCodeAt(index))) return false;
  }
  return true;
}

/** The value of two lower-case hex digits at `at`, or -1. */
function hexPair(value: string, at: number): number {
  const high = hexDigit(value.charCodeAt(at));
  const low = hexDigit(value.charCodeAt(at + 1));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Whether `value[from, to)` is lower-case hex and not all zeros. */
function isLowerHex(value: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let index = from; index < to; index += 1) {
    const code = value.charCodeAt(index);
    if (code >= 0x30 && code <= 0x39) nonZero ||= code !== 0x30;
    else if (code >= 0x61 && code <= 0x66) nonZero = true;
    else return false;
  }
  return nonZero;
}

/**
 * The parts of a W3C `traceparent` header, or undefined when it is malformed: version `00` is
 * exactly `00-<32 hex>-<16 hex>-<2 hex>`; a later version may add fields after the flags; version
 * `ff`, upper-case hex and all-zero ids are invalid (W3C Trace Context, level 1, section 3.2).
 */
export function parseTraceparent(
  value: unknown,
): { traceId: string; spanId: string; traceFlags: number } | undefined {
  if (typeof value !== 'string' || value.length < 55) return undefined;
  if (value.length > 55 && (value.startsWith('00') || value.charCodeAt(55) !== 0x2d)) return undefined;
  if (value.charCodeAt(2) !== 0x2d || value.charCodeAt(35) !== 0x2d || value.charCodeAt(52) !== 0x2d)
    return undefined;
  const version = hexPair(value, 0);
  if (version < 0 || version === 0xff) return undefined;
  if (!isLowerHex(value, 3, 35) || !isLowerHex(value, 36, 52)) return undefined;
  const traceFlags = hexPair(value, 53);
  if (traceFlags < 0) return undefined;
  return { traceId: value.slice(3, 35), spanId: value.slice(36, 52), traceFlags };
}

/** The first value of a header as Node hands it over (a string, or an array for repeated ones). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/**
 * The correlation id a request brings: the trace id of a valid `traceparent`, else a valid
 * `x-correlation-id`, else undefined (the caller generates one). A malformed header is ignored,
 * never an error: it is the client's input.
 */
export function correlationIdFromHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const traceparent = headers[TRACEPARENT_HEADER];
  if (traceparent !== undefined) {
    const parsed = parseTraceparent(headerValue(traceparent));
    if (parsed !== undefined) return parsed.traceId;
  }
  const given = headerValue(headers[CORRELATION_ID_HEADER]);
  return isValidCorrelationId(given) ? given : undefined;
}
