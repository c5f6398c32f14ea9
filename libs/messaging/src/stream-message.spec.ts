import { describe, expect, it } from '@jest/globals';

import { decodeEntry } from './stream-message.js';

describe('stream entries', () => {
  it('decodes what StreamProducer writes', () => {
    const message = decodeEntry(
      '1700000000000-3',
      [
        'type',
        'order.placed',
        'data',
        '{"id":"o1"}',
        'time',
        '1700000000123',
        'source',
        'api',
        'correlationId',
        'c',
      ],
      'orders',
      'billing',
      2,
    );
    expect(message).toEqual({
      id: '1700000000000-3',
      stream: 'orders',
      group: 'billing',
      type: 'order.placed',
      data: { id: 'o1' },
      time: new Date(1700000000123),
      source: 'api',
      correlationId: 'c',
      deliveries: 2,
      priority: 'normal',
    });
  });

  it('hands the publisher trace context to the handler, and leaves it out when none was written', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const fields = ['type', 't', 'data', '{}', 'traceparent', traceparent, 'tracestate', 'k=v'];
    expect(decodeEntry('1-0', fields, 's', 'g', 1)).toMatchObject({ traceparent, tracestate: 'k=v' });
    const untraced = decodeEntry('1-0', ['type', 't', 'data', '{}'], 's', 'g', 1);
    expect(untraced).not.toHaveProperty('traceparent');
    expect(untraced).not.toHaveProperty('tracestate');
  });

  it('takes the priority from the lane it was read from, not from a field', () => {
    const fields = ['type', 't', 'data', '{}', 'priority', 'low'];
    expect(decodeEntry('1-0', fields, 's', 'g', 1, 'high')).toMatchObject({ priority: 'high' });
    expect(decodeEntry('1-0', fields, 's', 'g', 1)).toMatchObject({ priority: 'normal' });
  });

  it('says why an entry written by something else is malformed', () => {
    expect(decodeEntry('1-0', ['data', '{}'], 's', 'g', 1)).toMatch(/"type"/);
    expect(decodeEntry('1-0', ['type', 't'], 's', 'g', 1)).toMatch(/"data"/);
    expect(decodeEntry('1-0', ['type', 't', 'data', '{nope'], 's', 'g', 1)).toMatch(/not JSON/);
    expect(decodeEntry('5-0', ['type', 't', 'data', '1'], 's', 'g', 1)).toMatchObject({ time: new Date(5) });
  });

  it('reads wire format version 1, or no version, and refuses a later one as malformed', () => {
    const fields = (...extra: string[]) => ['type', 't', 'data', '{}', ...extra];
    expect(decodeEntry('1-0', fields('v', '1'), 's', 'g', 1)).toMatchObject({ type: 't', data: {} });
    expect(decodeEntry('1-0', fields(), 's', 'g', 1)).toMatchObject({ type: 't' });
    expect(decodeEntry('1-0', fields('v', '2'), 's', 'g', 1)).toBe(
      'its wire format version "2" is not one this redkit reads (1)',
    );
  });
});
