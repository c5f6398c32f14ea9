import { describe, expect, it } from '@jest/globals';

import { RichJsonSerializer, richJsonSerializer } from './rich-json.serializer.js';

const serializer = richJsonSerializer;

function roundTrip(value: unknown): unknown {
  return serializer.deserialize(serializer.serialize(value));
}

describe('RichJsonSerializer', () => {
  it('writes plain JSON values exactly as JSON.stringify does', () => {
    const values: unknown[] = [
      null,
      true,
      0,
      -12.5e-7,
      Number.MAX_SAFE_INTEGER,
      '',
      'text with "quotes", \\ backslashes, \n newlines, \u0000 and 🚀',
      [],
      {},
      [1, 'two', [3, [4]], { five: 5 }, null, false],
      { bids: [[100.5, 2]], asks: [], meta: { type: 'Buffer', data: 'not a buffer' }, v: '$rk' },
      { __proto__value: 1, 'key with spaces': { nested: [{ deep: true }] } },
      JSON.parse('{"__proto__": {"polluted": 1}, "constructor": "x"}'),
    ];
    for (const value of values) {
      expect(serializer.serialize(value)).toBe(JSON.stringify(value));
      expect(roundTrip(value)).toStrictEqual(value);
    }
  });

  it('reads text written by JSON.stringify', () => {
    const text = JSON.stringify({ a: [1, 2, { b: 'c' }], d: null });
    expect(serializer.deserialize(text)).toStrictEqual({ a: [1, 2, { b: 'c' }], d: null });
  });

  it('round-trips Dates, including invalid ones and extended years, at any depth', () => {
    const date = new Date('2024-05-01T12:34:56.789Z');
    const value = {
      date,
      list: [date, new Date(-8_640_000_000_000_000)],
      map: new Map([[date, new Date(0)]]),
    };
    const result = roundTrip(value) as typeof value;
    expect(result).toStrictEqual(value);
    expect(result.date).toBeInstanceOf(Date);
    expect([...result.map.keys()][0]).toBeInstanceOf(Date);
    expect(roundTrip(date)).toStrictEqual(date);
    // jest's equality finds two invalid Dates unequal (NaN !== NaN), hence the separate check.
    const [invalid] = roundTrip([new Date(Number.NaN)]) as Date[];
    expect(invalid).toBeInstanceOf(Date);
    expect(Number.isNaN(invalid?.getTime())).toBe(true);
  });

  it('round-trips Buffers and reads a Uint8Array back as a Buffer of the same bytes', () => {
    const buffer = Buffer.from([0, 1, 2, 253, 254, 255]);
    const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    const result = roundTrip({ buffer, nested: [[buffer]], empty: Buffer.alloc(0), view }) as Record<
      string,
      unknown
    >;
    expect(result.buffer).toStrictEqual(buffer);
    expect(result.nested).toStrictEqual([[buffer]]);
    expect(result.empty).toStrictEqual(Buffer.alloc(0));
    expect(Buffer.isBuffer(result.view)).toBe(true);
    expect([...(result.view as Buffer)]).toEqual([8, 7]);
    expect(roundTrip(buffer)).toStrictEqual(buffer);
  });

  it('round-trips BigInts of any size and sign', () => {
    const value = [0n, -1n, 2n ** 64n, { big: -(10n ** 40n) }, new Set([3n])];
    expect(roundTrip(value)).toStrictEqual(value);
    expect(roundTrip(123n)).toBe(123n);
  });

  it('round-trips Maps with keys of any type, nested in objects, arrays and other Maps', () => {
    const objectKey = { id: 1 };
    const map = new Map<unknown, unknown>([
      ['string', 1],
      [2, 'number'],
      [objectKey, [new Map([['inner', new Set(['x'])]])]],
      [null, undefined],
      [undefined, null],
      [10n, Number.NaN],
    ]);
    const value = { map, list: [map, new Map()] };
    const result = roundTrip(value) as typeof value;
    expect(result).toStrictEqual(value);
    expect(result.map).toBeInstanceOf(Map);
    expect([...result.map.keys()]).toStrictEqual([...map.keys()]);
  });

  it('round-trips Sets, keeping member order', () => {
    const value = {
      set: new Set<unknown>(['b', 'a', 1, undefined, null, [2], new Date(5)]),
      empty: new Set(),
    };
    const result = roundTrip(value) as typeof value;
    expect(result).toStrictEqual(value);
    expect([...result.set]).toStrictEqual([...value.set]);
  });

  it('keeps undefined in arrays and as a property value, without holes or lost keys', () => {
    const value = { list: [1, undefined, [undefined]], present: undefined, nested: { a: undefined } };
    const result = roundTrip(value) as typeof value;
    expect(result).toStrictEqual(value);
    expect(Object.keys(result)).toEqual(['list', 'present', 'nested']);
    expect(1 in result.list).toBe(true);
    expect('a' in result.nested).toBe(true);
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip([undefined])).toStrictEqual([undefined]);
  });

  it('round-trips NaN, Infinity, -Infinity and -0', () => {
    const result = roundTrip([Number.NaN, Infinity, -Infinity, -0, 0, { n: -0 }]) as unknown[];
    expect(Number.isNaN(result[0])).toBe(true);
    expect(result[1]).toBe(Infinity);
    expect(result[2]).toBe(-Infinity);
    expect(Object.is(result[3], -0)).toBe(true);
    expect(Object.is(result[4], 0)).toBe(true);
    expect(Object.is((result[5] as { n: number }).n, -0)).toBe(true);
  });

  it('escapes user objects carrying a $rk key, so they can never read back as tags', () => {
    const forged = [
      { $rk: 'date', v: '2024-05-01T12:34:56.789Z' },
      { $rk: 'undefined' },
      { $rk: 'map', v: [['a', 1]] },
      { $rk: 'no such tag' },
      { $rk: { $rk: 'bigint', v: '1' }, other: [{ $rk: 'set', v: [] }] },
    ];
    const value = { forged, inMap: new Map([[forged[0], forged[1]]]), inSet: new Set([forged[2]]) };
    const text = serializer.serialize(value);
    const result = serializer.deserialize(text) as typeof value;
    expect(result).toStrictEqual(value);
    expect(result.forged[0]).not.toBeInstanceOf(Date);
    // In the text, each forged object is wrapped in an "object" tag of its entries.
    const written = JSON.parse(text) as { forged: Array<{ $rk: string }> };
    expect(written.forged.map((entry) => entry.$rk)).toEqual(Array(forged.length).fill('object'));
    // Strings that look like the tag key stay strings.
    expect(roundTrip(['$rk', '"$rk"', { key: '{"$rk":"date","v":"x"}' }])).toStrictEqual([
      '$rk',
      '"$rk"',
      { key: '{"$rk":"date","v":"x"}' },
    ]);
  });

  it('finds tagged types at any depth, deeper than the plain-JSON check looks', () => {
    let deep: unknown = { at: new Date(7), big: 7n };
    let plain: unknown = 'bottom';
    for (let level = 0; level < 200; level += 1) {
      deep = level % 2 === 0 ? [deep] : { level: deep };
      plain = level % 2 === 0 ? [plain] : { level: plain };
    }
    expect(roundTrip(deep)).toStrictEqual(deep);
    expect(serializer.serialize(plain)).toBe(JSON.stringify(plain));
  });

  it('honours toJSON methods, including ones that return a type JSON would lose', () => {
    const value = {
      money: { toJSON: () => ({ amount: 10n, at: new Date(3) }) },
      ids: { toJSON: () => new Set([1, 2]) },
    };
    expect(roundTrip(value)).toStrictEqual({ money: { amount: 10n, at: new Date(3) }, ids: new Set([1, 2]) });
  });

  it('revives a tag under a "__proto__" key as an own property, leaving the prototype alone', () => {
    const value = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    value['__proto__'] = new Date(9);
    const result = roundTrip(value) as object;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toStrictEqual(new Date(9));
  });

  it('turns class instances into plain objects of their own enumerable properties', () => {
    class Order {
      readonly total = 10;
      constructor(readonly id: string) {}
      describe(): string {
        return this.id;
      }
    }
    const text = serializer.serialize({ order: new Order('a1') });
    expect(text).toBe(JSON.stringify({ order: new Order('a1') }));
    const result = serializer.deserialize(text) as { order: unknown };
    expect(result.order).toStrictEqual({ total: 10, id: 'a1' });
    expect(result.order).not.toBeInstanceOf(Order);
  });

  it('drops functions and symbols as JSON does', () => {
    const value = { keep: 1, method: () => 1, symbol: Symbol('s'), list: [() => 1, Symbol('t')] };
    expect(serializer.serialize(value)).toBe(JSON.stringify(value));
    expect(roundTrip(value)).toStrictEqual({ keep: 1, list: [null, null] });
    expect(roundTrip(() => 1)).toBeUndefined();
  });

  it('throws a TypeError on circular structures, including cycles through Maps, Sets and escaped objects', () => {
    const object: Record<string, unknown> = { a: 1 };
    object.self = object;
    const map = new Map<string, unknown>();
    map.set('self', { back: map });
    const set = new Set<unknown>();
    set.add([set]);
    const escaped: Record<string, unknown> = { $rk: 'x' };
    escaped.self = [escaped];
    for (const value of [object, map, set, escaped, { deep: [new Map([['m', map]])] }]) {
      expect(() => serializer.serialize(value)).toThrow(TypeError);
      expect(() => serializer.serialize(value)).toThrow(/circular structure/);
    }
  });

  it('writes a Map or Set referenced twice (without a cycle) twice, like JSON', () => {
    const shared = new Map([['k', new Set([1])]]);
    const result = roundTrip({ first: shared, second: [shared] }) as { first: unknown; second: unknown[] };
    expect(result.first).toStrictEqual(shared);
    expect(result.second[0]).toStrictEqual(shared);
  });

  it('gives separate instances the same behaviour and keeps calls independent after an error', () => {
    const other = new RichJsonSerializer();
    const cyclic: unknown[] = [];
    cyclic.push(new Map([['c', cyclic]]));
    expect(() => other.serialize(cyclic)).toThrow(TypeError);
    const value = { when: new Date(1), tags: new Set(['a']) };
    expect(other.serialize(value)).toBe(serializer.serialize(value));
  });

  it('refuses tags it does not know and malformed tags', () => {
    expect(() => serializer.deserialize('{"$rk":"regexp","v":"a+"}')).toThrow('unknown tag "regexp"');
    expect(() => serializer.deserialize('{"$rk":"map","v":1}')).toThrow('malformed "map" tag');
    expect(() => serializer.deserialize('{"$rk":"bigint","v":1}')).toThrow(TypeError);
  });
});
