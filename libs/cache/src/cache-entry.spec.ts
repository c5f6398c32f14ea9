import { describe, expect, it } from '@jest/globals';

import { decodeEntry, encodeEntry } from './cache-entry.js';
import { richJsonSerializer } from './rich-json.serializer.js';

const entry = encodeEntry(1_000, 2_000, richJsonSerializer.serialize({ price: '1.5' }));

describe('decodeEntry', () => {
  it('reads back what encodeEntry wrote, deadlines and size included', () => {
    expect(decodeEntry(entry, richJsonSerializer)).toMatchObject({
      value: { price: '1.5' },
      freshUntil: 1_000,
      staleUntil: 2_000,
      size: Buffer.byteLength(richJsonSerializer.serialize({ price: '1.5' })),
    });
  });

  it('reads the entry under a distributed single-flight lease, marked as waited on or not', () => {
    for (const lease of ['~instance|5000|', '~instance+|5000|']) {
      expect(decodeEntry(`${lease}${entry}`, richJsonSerializer)).toEqual(
        decodeEntry(entry, richJsonSerializer),
      );
    }
  });

  it('finds nothing in a bare lease, a torn lease or a foreign value', () => {
    for (const text of ['~instance', '~instance+', '~instance|5000', 'plain text', '']) {
      expect(decodeEntry(text, richJsonSerializer)).toBeUndefined();
    }
  });
});
