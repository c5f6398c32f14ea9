import { describe, expect, it } from '@jest/globals';

import { CacheOptionsError } from './cache.errors.js';
import type { CacheModuleOptions } from './cache-options.interface.js';
import { DEFAULT_NAMESPACE, resolveCacheOptions } from './cache-options.validator.js';

describe('resolveCacheOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveCacheOptions();
    expect(resolved).toMatchObject({
      l1MaxEntries: 10_000,
      l1MaxBytes: 64 * 1024 * 1024,
      maxValueBytes: 1024 * 1024,
      invalidation: 'pubsub',
      preserializedHits: false,
      l2Reads: 'primary',
      readYourWritesMs: 1_000,
    });
    expect(resolved.namespaces.get(DEFAULT_NAMESPACE)).toMatchObject({ ttlMs: 60_000, l1: true, graceMs: 0 });
  });

  it('lets a namespace inherit the defaults above it and override some', () => {
    const resolved = resolveCacheOptions({
      ttlMs: 5_000,
      graceMs: 1_000,
      namespaces: { books: { ttlMs: 500 } },
    });
    expect(resolved.namespaces.get('books')).toMatchObject({ ttlMs: 500, l1TtlMs: 500, graceMs: 1_000 });
  });

  it.each<[string, CacheModuleOptions, string]>([
    [
      'preserializedHits not a boolean',
      { preserializedHits: 'yes' as unknown as boolean },
      'must be true or false, got "yes"',
    ],
    ['a negative ttlMs', { ttlMs: -1 }, 'must be a number of milliseconds above 0, got -1'],
    ['l1TtlMs over ttlMs', { ttlMs: 100, l1TtlMs: 200 }, 'must not exceed ttlMs (100), got 200'],
    ['a fractional l1MaxEntries', { l1MaxEntries: 1.5 }, 'must be a whole number above 0, got 1.5'],
    [
      'an unknown invalidation mode',
      { invalidation: 'gossip' as 'pubsub' },
      'must be "pubsub", "tracking" or "none"',
    ],
    [
      'an unknown l2Reads',
      { l2Reads: 'slave' as 'replica' },
      'option "l2Reads" must be "primary" or "replica"',
    ],
    [
      'a negative readYourWritesMs',
      { l2Reads: 'replica', readYourWritesMs: -1 },
      'option "readYourWritesMs" must be a number of milliseconds from 0, got -1',
    ],
    [
      'a serializer without deserialize',
      { serializer: { serialize: String } as never },
      'must have serialize(value) and deserialize(text) methods',
    ],
  ])('fails naming the option: %s', (_case, options, reason) => {
    const attempt = () => resolveCacheOptions(options);
    expect(attempt).toThrow(CacheOptionsError);
    expect(attempt).toThrow(reason);
  });

  it('names the namespace of a bad namespace option', () => {
    expect(() => resolveCacheOptions({ namespaces: { books: { graceMs: -5 } } })).toThrow(
      'CacheModule option "namespaces.books.graceMs" must be a number of milliseconds from 0, got -5',
    );
  });
});
