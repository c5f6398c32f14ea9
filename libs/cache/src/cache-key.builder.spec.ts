import { describe, expect, it } from '@jest/globals';

import {
  buildArgumentsKey,
  compileKeyTemplate,
  resolveKeyTemplate,
  stableStringify,
} from './cache-key.builder.js';

describe('stableStringify', () => {
  it('writes plain JSON values as JSON.stringify does, with object keys sorted', () => {
    expect(stableStringify({ b: [1, 'two', null, true], a: { d: -1.5, c: '"q"' } })).toBe(
      '{"a":{"c":"\\"q\\"","d":-1.5},"b":[1,"two",null,true]}',
    );
  });

  it('gives the same text whatever order object keys were inserted in, at any depth', () => {
    const first = { a: 1, b: { x: [{ p: 1, q: 2 }], y: 2 } };
    const second = { b: { y: 2, x: [{ q: 2, p: 1 }] }, a: 1 };
    expect(stableStringify(second)).toBe(stableStringify(first));
  });

  it('gives the same text whatever order Map entries and Set members were inserted in', () => {
    const first = new Map<unknown, unknown>([
      ['b', 2],
      [1, 'one'],
      [{ k: 1 }, new Set([3, 1, 2])],
    ]);
    const second = new Map<unknown, unknown>([
      [{ k: 1 }, new Set([2, 3, 1])],
      [1, 'one'],
      ['b', 2],
    ]);
    expect(stableStringify(second)).toBe(stableStringify(first));
    expect(stableStringify(new Set(['b', 'a']))).toBe('Set["a","b"]');
    expect(
      stableStringify(
        new Map([
          ['b', 1],
          ['a', 2],
        ]),
      ),
    ).toBe('Map[["a",2],["b",1]]');
  });

  it('writes Dates as ISO, BigInts as 123n, Buffers as tagged base64 and undefined apart from null', () => {
    expect(stableStringify(new Date('2024-05-01T12:00:00.000Z'))).toBe('2024-05-01T12:00:00.000Z');
    expect(stableStringify(new Date(Number.NaN))).toBe('InvalidDate');
    expect(stableStringify(123n)).toBe('123n');
    expect(stableStringify(Buffer.from('hi'))).toBe('Buffer(aGk=)');
    expect(stableStringify(new Uint8Array([104, 105]))).toBe('Buffer(aGk=)');
    expect(stableStringify([undefined, null])).toBe('[undefined,null]');
    expect(stableStringify([Number.NaN, Infinity, -Infinity, -0])).toBe('[NaN,Infinity,-Infinity,0]');
  });

  it('leaves out properties whose value is undefined, as JSON does', () => {
    expect(stableStringify({ a: 1, optional: undefined })).toBe(stableStringify({ a: 1 }));
    expect(stableStringify({ a: null })).not.toBe(stableStringify({}));
  });

  it('uses toJSON where an object has one', () => {
    expect(stableStringify({ url: new URL('https://example.com/a') })).toBe(
      '{"url":"https://example.com/a"}',
    );
  });

  it('throws a TypeError on circular structures but not on shared references', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = { again: cyclic };
    expect(() => stableStringify(cyclic)).toThrow(TypeError);
    const map = new Map<string, unknown>();
    map.set('self', map);
    expect(() => stableStringify([map])).toThrow('circular structure');
    const shared = { s: 1 };
    expect(stableStringify([shared, shared])).toBe('[{"s":1},{"s":1}]');
  });

  it('throws a TypeError on functions and symbols rather than dropping them', () => {
    expect(() => stableStringify([() => 1])).toThrow('cannot encode a function');
    expect(() => stableStringify({ s: Symbol('s') })).toThrow('cannot encode a symbol');
  });
});

describe('buildArgumentsKey', () => {
  it('is the stable text of the arguments when short', () => {
    expect(buildArgumentsKey(['BTC-USD', { levels: 10, side: 'bid' }])).toBe(
      '["BTC-USD",{"levels":10,"side":"bid"}]',
    );
    expect(buildArgumentsKey([])).toBe('[]');
  });

  it('gives distinct keys for distinct arguments', () => {
    const date = new Date('2024-05-01T12:00:00.000Z');
    const calls: unknown[][] = [
      [],
      [[]],
      [[[]]],
      [1],
      ['1'],
      [1n],
      ['1n'],
      [true],
      ['true'],
      [undefined],
      [null],
      ['null'],
      ['undefined'],
      [undefined, undefined],
      [Number.NaN],
      ['NaN'],
      [{}],
      [{ a: null }],
      [new Map()],
      [new Set()],
      [new Map([['a', 1]])],
      [{ a: 1 }],
      [[['a', 1]]],
      [new Set([1])],
      [[1]],
      ['a,b'],
      ['a', 'b'],
      [['a', 'b']],
      [date],
      [date.toISOString()],
      [Buffer.from('hi')],
      ['hi'],
      ['aGk='],
      ['Buffer(aGk=)'],
      ['"'],
      ['\\'],
    ];
    const keys = calls.map((args) => buildArgumentsKey(args));
    expect(new Set(keys).size).toBe(calls.length);
  });

  it('hashes keys longer than maxLength into h: and 43 base64url characters', () => {
    const key = buildArgumentsKey(['x'.repeat(500)]);
    expect(key).toMatch(/^h:[A-Za-z0-9_-]{43}$/);
    expect(buildArgumentsKey(['x'.repeat(500)])).toBe(key);
    expect(buildArgumentsKey(['x'.repeat(499) + 'y'])).not.toBe(key);
    expect(buildArgumentsKey([{ huge: 'é'.repeat(100_000) }])).toHaveLength(45);
  });

  it('keeps keys of exactly maxLength and hashes one character more', () => {
    // '["' + 6 characters + '"]' is 10 characters.
    expect(buildArgumentsKey(['abcdef'], 10)).toBe('["abcdef"]');
    expect(buildArgumentsKey(['abcdefg'], 10)).toMatch(/^h:/);
    expect(buildArgumentsKey([], 0)).toMatch(/^h:/);
  });

  it('hashes the same arguments to the same key whatever their key order', () => {
    const long = 'z'.repeat(300);
    expect(buildArgumentsKey([{ a: long, b: 1 }])).toBe(buildArgumentsKey([{ b: 1, a: long }]));
  });

  it('refuses a maxLength that is negative or not a number', () => {
    expect(() => buildArgumentsKey([], -1)).toThrow(RangeError);
    expect(() => buildArgumentsKey([], Number.NaN)).toThrow('maxLength');
  });
});

describe('compileKeyTemplate and resolveKeyTemplate', () => {
  it('replaces index placeholders by the arguments, strings as they are', () => {
    expect(resolveKeyTemplate('order:{0}', ['42'])).toBe('order:42');
    expect(resolveKeyTemplate('{1}-{0}', ['a', 'b'])).toBe('b-a');
    expect(resolveKeyTemplate('static', [])).toBe('static');
  });

  it('follows dotted property paths', () => {
    const args = [{ symbol: 'BTC-USD', venue: { name: 'x' } }, 10];
    expect(resolveKeyTemplate('book:{0.symbol}:{1}', args)).toBe('book:BTC-USD:10');
    expect(resolveKeyTemplate('venue:{0.venue.name}', args)).toBe('venue:x');
  });

  it('writes non-string values through stableStringify', () => {
    expect(resolveKeyTemplate('q:{0}', [{ b: 2, a: 1 }])).toBe('q:{"a":1,"b":2}');
    expect(resolveKeyTemplate('n:{0}:{1}:{2}', [7, 8n, null])).toBe('n:7:8n:null');
    expect(resolveKeyTemplate('d:{0}', [new Date('2024-05-01T00:00:00.000Z')])).toBe(
      'd:2024-05-01T00:00:00.000Z',
    );
  });

  it('keeps braces that do not open a placeholder, such as Redis hash tags', () => {
    expect(resolveKeyTemplate('{orders}:{0}:{}', ['7'])).toBe('{orders}:7:{}');
  });

  it('names the placeholder when its argument is missing', () => {
    expect(() => resolveKeyTemplate('book:{0.symbol}:{1}', [{ symbol: 'X' }])).toThrow(
      'placeholder {1} refers to argument 1, but the call has 1 argument',
    );
    expect(() => resolveKeyTemplate('order:{0}', [undefined])).toThrow('placeholder {0} is undefined');
  });

  it('names the placeholder when a property on its path is missing', () => {
    expect(() => resolveKeyTemplate('book:{0.symbol}', [{}])).toThrow('placeholder {0.symbol} is undefined');
    expect(() => resolveKeyTemplate('v:{0.venue.name}', [{ venue: null }])).toThrow(
      'placeholder {0.venue.name} cannot read "name" of null',
    );
  });

  it('refuses malformed placeholders when compiling, naming them', () => {
    expect(() => compileKeyTemplate('a:{0')).toThrow('placeholder {0 is not closed');
    expect(() => compileKeyTemplate('a:{0x}')).toThrow('placeholder {0x} must start with an argument index');
    expect(() => compileKeyTemplate('a:{0..b}')).toThrow('placeholder {0..b} has an empty');
    expect(() => compileKeyTemplate('a:{0.}')).toThrow('placeholder {0.}');
  });

  it('compiles once into a function reusable for every call', () => {
    const key = compileKeyTemplate('book:{0.symbol}:{1}');
    expect(key([{ symbol: 'A' }, 1])).toBe('book:A:1');
    expect(key([{ symbol: 'B' }, 2])).toBe('book:B:2');
  });
});
