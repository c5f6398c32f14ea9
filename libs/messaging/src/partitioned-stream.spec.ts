import { describe, expect, it } from '@jest/globals';

import { MessagingOptionsError } from './messaging.errors.js';
import { resolvePartitionLeaseOptions } from './messaging-options.validator.js';
import {
  checkPartitionedStream,
  MAX_PARTITIONS,
  partitionOf,
  partitionStreamName,
  partitionStreamOf,
} from './partitioned-stream.js';

/** FNV-1a over the bytes Node's own UTF-8 encoder writes: what the hash must agree with. */
function referenceHash(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

describe('partitionOf', () => {
  it('is 32-bit FNV-1a of the UTF-8 bytes modulo the count (the published test vectors)', () => {
    // 0x811c9dc5, 0xe40c292c and 0xbf9cf968 are FNV-1a's reference values for "", "a" and "foobar".
    expect(partitionOf('', 2 ** 31)).toBe(0x811c9dc5 % 2 ** 31);
    expect(partitionOf('a', 0xffffffff)).toBe(0xe40c292c);
    expect(partitionOf('foobar', 0xffffffff)).toBe(0xbf9cf968);
    expect(partitionOf('order-42', 6)).toBe(2);
    expect(partitionOf('é', 12)).toBe(9);
  });

  it('hashes every UTF-8 length (1 to 4 bytes) and lone surrogates as U+FFFD, as Buffer encodes them', () => {
    const keys = [
      'plain',
      'é',
      'naïve',
      '€',
      '日本語',
      '😀',
      'a😀b',
      '\ud800',
      'x\udc00y',
      '\ud83d',
      '\u07ff\u0800',
    ];
    for (const key of keys) expect(partitionOf(key, 0xffffffff)).toBe(referenceHash(key) % 0xffffffff);
  });

  it('spreads keys over every partition, each key always to the same one', () => {
    const keys = Array.from({ length: 6_000 }, (_, key) => `account-${key}`);
    const first = keys.map((key) => partitionOf(key, 6));
    expect(keys.map((key) => partitionOf(key, 6))).toEqual(first);
    const counts = new Array<number>(6).fill(0);
    for (const partition of first) counts[partition] = (counts[partition] ?? 0) + 1;
    // Roughly even: each of the 6 gets 1000 ± 20 %.
    expect(counts.every((count) => Math.abs(count - 1_000) < 200)).toBe(true);
  });
});

describe('partitioned stream names', () => {
  it('names partition i <name>#<i>, one hash tag each', () => {
    expect(partitionStreamName('orders', 0)).toBe('orders#0');
    expect(partitionStreamOf({ name: 'orders', partitions: 6 }, 'order-42')).toBe('orders#2');
  });

  it('refuses a partitioned stream with a bad name or count, naming the option', () => {
    expect(() => checkPartitionedStream({ name: '', partitions: 3 })).toThrow(
      new MessagingOptionsError('stream.name', 'must be a string of 1 to 500 characters, got ""'),
    );
    expect(() => checkPartitionedStream({ name: 'orders', partitions: 0 })).toThrow(
      new MessagingOptionsError(
        'stream.partitions',
        `must be a whole number from 1 to ${MAX_PARTITIONS}, got 0`,
      ),
    );
    expect(() => checkPartitionedStream({ name: 'orders', partitions: 1_025 })).toThrow(/stream\.partitions/);
    expect(() => checkPartitionedStream({ name: 'orders', partitions: 2.5 })).toThrow(/stream\.partitions/);
    expect(() => checkPartitionedStream(null)).toThrow(/"stream"/);
    expect(checkPartitionedStream({ name: 'orders', partitions: MAX_PARTITIONS }).partitions).toBe(1_024);
  });

  it('requires a partition key to publish to a partitioned stream', () => {
    expect(() => partitionStreamOf({ name: 'orders', partitions: 6 }, undefined)).toThrow(
      /"partitionKey" is required to publish to the partitioned stream "orders"/,
    );
  });
});

describe('partition lease options', () => {
  it('defaults to a 10 s lease renewed every 2 s', () => {
    expect(resolvePartitionLeaseOptions({})).toEqual({ leaseMs: 10_000, heartbeatMs: 2_000 });
    expect(resolvePartitionLeaseOptions({ heartbeatMs: 5_000 })).toEqual({
      leaseMs: 20_000,
      heartbeatMs: 5_000,
    });
  });

  it('refuses a lease shorter than 4 heartbeats, naming the option', () => {
    expect(() => resolvePartitionLeaseOptions({ leaseMs: 3_000, heartbeatMs: 1_000 })).toThrow(
      /messaging option "leaseMs" must be at least 4 × heartbeatMs \(4000\), got 3000/,
    );
    expect(() => resolvePartitionLeaseOptions({ heartbeatMs: 0 })).toThrow(/"heartbeatMs"/);
  });
});
