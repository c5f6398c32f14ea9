import { describe, expect, it } from '@jest/globals';

import { cutToBytes, PayloadRedactor } from './payload-redactor.js';

const redactor = new PayloadRedactor({ redactFields: new Set(['password', 'apikey']), maxPayloadBytes: 64 });

describe('PayloadRedactor', () => {
  it('redacts listed fields at any depth, case-insensitively, without touching the input', () => {
    const input = { user: 'ada', password: 'x', nested: [{ apiKey: 'k', keep: 1 }] };
    expect(redactor.redact(input)).toEqual({
      user: 'ada',
      password: '[redacted]',
      nested: [{ apiKey: '[redacted]', keep: 1 }],
    });
    expect(input.password).toBe('x');
  });

  it('redacts inside JSON fields of an entry, and whole fields named like a secret', () => {
    const { fields, truncated } = redactor.entryFields([
      'type',
      't',
      'data',
      '{"password":"p","n":1}',
      'apiKey',
      'k',
    ]);
    expect(fields).toEqual({ type: 't', data: '{"password":"[redacted]","n":1}', apiKey: '[redacted]' });
    expect(truncated).toBe(false);
    expect(redactor.entryFields(null)).toEqual({ fields: null, truncated: false });
  });

  it('cuts an entry to the byte budget and says so', () => {
    const { fields, truncated } = redactor.entryFields(['data', 'x'.repeat(500), 'more', 'y']);
    expect(truncated).toBe(true);
    expect(Buffer.byteLength(fields?.data ?? '')).toBeLessThanOrEqual(64);
  });

  it('shows a large payload as its cut JSON text', () => {
    const { payload, truncated } = redactor.payload({ password: 'p', text: 'é'.repeat(100) });
    expect(truncated).toBe(true);
    expect(typeof payload).toBe('string');
    expect(payload).toContain('"password":"[redacted]"');
    expect(Buffer.byteLength(payload as string)).toBeLessThanOrEqual(64);
    expect(redactor.payload({ ok: true })).toEqual({ payload: { ok: true }, truncated: false });
  });

  it('never cuts a character in half', () => {
    expect(cutToBytes('éé', 3)).toBe('é');
    expect(cutToBytes('abc', 10)).toBe('abc');
  });
});
