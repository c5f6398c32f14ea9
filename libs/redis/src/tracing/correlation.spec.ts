import { describe, expect, it } from '@jest/globals';

import {
  correlationIdFromHeaders,
  isValidCorrelationId,
  newCorrelationId,
  parseTraceparent,
  runWithCorrelation,
} from './correlation.js';
import { resolveCorrelationOptions } from './correlation-options.js';
import { withCorrelationId } from './redkit-logger.js';
import { CorrelationOptionsError } from './tracing.errors.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('reads the trace id, parent id and flags of a version-00 header', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`)).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 1,
    });
  });

  it('accepts a later version with fields after the flags, as the spec asks', () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-00-more`)?.traceId).toBe(TRACE_ID);
  });

  it.each([
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 00 with a trailing field', `00-${TRACE_ID}-${SPAN_ID}-01-more`],
    ['a later version glued to more text', `cc-${TRACE_ID}-${SPAN_ID}-00more`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['non-hex flags', `00-${TRACE_ID}-${SPAN_ID}-0x`],
    ['wrong separators', `00_${TRACE_ID}_${SPAN_ID}_01`],
    ['a short header', `00-${TRACE_ID}-${SPAN_ID}-1`],
    ['no header', undefined],
  ])('refuses %s', (_case, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });
});

describe('isValidCorrelationId', () => {
  it('accepts ids of 1-128 safe characters', () => {
    expect(isValidCorrelationId('a')).toBe(true);
    expect(isValidCorrelationId('Order-7f3a_checkout.2:retry/1+x=y@z')).toBe(true);
    expect(isValidCorrelationId('x'.repeat(128))).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['x'.repeat(129), 'too long'],
    ['a b', 'a space'],
    ['a\nb', 'a newline'],
    ['a"b', 'a quote'],
    ['é', 'non-ASCII'],
  ])('refuses %j (%s)', (value) => {
    expect(isValidCorrelationId(value)).toBe(false);
  });

  it('refuses what is not a string', () => {
    expect(isValidCorrelationId(42)).toBe(false);
    expect(isValidCorrelationId(undefined)).toBe(false);
  });
});

describe('correlationIdFromHeaders', () => {
  it('prefers a valid traceparent, then x-correlation-id, reading the first of repeated headers', () => {
    expect(
      correlationIdFromHeaders({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, 'x-correlation-id': 'given' }),
    ).toBe(TRACE_ID);
    expect(correlationIdFromHeaders({ traceparent: 'bad', 'x-correlation-id': 'given' })).toBe('given');
    expect(correlationIdFromHeaders({ 'x-correlation-id': ['first', 'second'] })).toBe('first');
    expect(correlationIdFromHeaders({ 'x-correlation-id': 'bad id' })).toBeUndefined();
    expect(correlationIdFromHeaders({})).toBeUndefined();
  });
});

describe('newCorrelationId', () => {
  it('makes 32 lower-case hex digits, different each time', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => newCorrelationId()));
    expect(ids.size).toBe(1_000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('withCorrelationId', () => {
  it('appends the current id to text, and leaves objects and id-less messages alone', () => {
    expect(withCorrelationId('plain')).toBe('plain');
    const object = { event: 'x' };
    runWithCorrelation('abc', () => {
      expect(withCorrelationId('connected')).toBe('connected correlationId=abc');
      expect(withCorrelationId(object)).toBe(object);
    });
  });
});

describe('resolveCorrelationOptions', () => {
  it('defaults every option and names a bad one', () => {
    expect(resolveCorrelationOptions(undefined)).toEqual({
      trustIncoming: true,
      responseHeader: true,
      serverSpans: true,
    });
    expect(resolveCorrelationOptions({ serverSpans: false }).serverSpans).toBe(false);
    expect(() => resolveCorrelationOptions({ trustIncoming: 1 as unknown as boolean })).toThrow(
      new CorrelationOptionsError('trustIncoming', 'must be a boolean, got number'),
    );
  });
});
