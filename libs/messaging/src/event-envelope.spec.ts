import { describe, expect, it } from '@jest/globals';

import { assertEventType, checkEventPattern, createEnvelope, parseEnvelope } from './event-envelope.js';
import { InvalidEventTypeError } from './messaging.errors.js';

describe('event envelopes', () => {
  it('accepts dot-separated types and refuses separators, globs and empty words', () => {
    expect(() => assertEventType('trade.executed')).not.toThrow();
    expect(() => assertEventType('market.BTC-USD.ticker_1')).not.toThrow();
    for (const bad of ['', 'a..b', '.a', 'a:b', 'a*', 'a b', 'x'.repeat(201), 42]) {
      expect(() => assertEventType(bad)).toThrow(InvalidEventTypeError);
    }
  });

  it('tells patterns with globs from plain types', () => {
    expect(checkEventPattern('market.*')).toBe(true);
    expect(checkEventPattern('trade.execute?')).toBe(true);
    expect(checkEventPattern('trade.executed')).toBe(false);
    expect(() => checkEventPattern('market.[ab]')).toThrow(InvalidEventTypeError);
  });

  it('round-trips an envelope and defaults the correlation id to its own id', () => {
    const envelope = createEnvelope('trade.executed', { price: '1.5' }, 'api:1');
    expect(envelope.correlationId).toBe(envelope.id);
    expect(parseEnvelope(JSON.stringify(envelope), 'trade.executed')).toEqual(envelope);
    expect(createEnvelope('a', null, 's', 'corr').correlationId).toBe('corr');
  });

  it('writes trace fields before data when traced, and drops trace fields that are not text instead of the event', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = createEnvelope('a.b', { n: 1 }, 's', 'corr', { traceparent, tracestate: 'k=v' });
    expect(Object.keys(traced)).toEqual([
      'id',
      'type',
      'time',
      'correlationId',
      'source',
      'traceparent',
      'tracestate',
      'data',
    ]);
    expect(parseEnvelope(JSON.stringify(traced), 'a.b')).toEqual(traced);
    const odd = parseEnvelope(JSON.stringify({ ...traced, traceparent: 7, tracestate: ['x'] }), 'a.b');
    expect(odd).toEqual({ ...traced, traceparent: undefined, tracestate: undefined });
    expect(odd).not.toHaveProperty('traceparent');
  });

  it('names what is wrong with a malformed envelope', () => {
    const good = createEnvelope('a.b', 1, 's');
    expect(parseEnvelope('{nope', 'a.b')).toBe('not JSON');
    expect(parseEnvelope('[1]', 'a.b')).toBe('not a JSON object');
    expect(parseEnvelope(JSON.stringify({ ...good, id: 7 }), 'a.b')).toMatch(/"id"/);
    const { data: _data, ...noData } = good;
    expect(parseEnvelope(JSON.stringify(noData), 'a.b')).toMatch(/"data"/);
    expect(parseEnvelope(JSON.stringify(good), 'a.c')).toMatch(/does not match/);
  });
});
