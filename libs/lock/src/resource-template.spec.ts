import { describe, expect, it } from '@jest/globals';

import { compileResourceTemplate, ResourceTemplateError } from './resource-template.js';

describe('compileResourceTemplate', () => {
  it('fills argument indexes and property paths', () => {
    expect(compileResourceTemplate('orders:{0}')(['42'])).toBe('orders:42');
    expect(compileResourceTemplate('book:{0.symbol}:{1}')([{ symbol: 'BTC-USD' }, 20])).toBe(
      'book:BTC-USD:20',
    );
    expect(compileResourceTemplate('{1.a.b}')([null, { a: { b: true } }])).toBe('true');
  });

  it('returns a template without placeholders as it is', () => {
    expect(compileResourceTemplate('global')([])).toBe('global');
  });

  it('refuses a placeholder that resolves to nothing printable, so two calls never share a lock by accident', () => {
    expect(() => compileResourceTemplate('orders:{0}')([])).toThrow(ResourceTemplateError);
    expect(() => compileResourceTemplate('orders:{0.id}')([{}])).toThrow(/\{0\.id\} is undefined/);
    expect(() => compileResourceTemplate('orders:{0}')([{ id: 1 }])).toThrow(/is object/);
    expect(() => compileResourceTemplate('orders:{0}')([null])).toThrow(/is null/);
  });
});
