import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  partitionOf,
  StreamConsumer,
  StreamInspector,
  StreamProducer,
  type StreamConsumerOptions,
  type StreamMessage,
} from '@redkit/messaging';
import type { RedisConnection } from '@redkit/redis';

import { eventually, requirePythonRedis, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, open, uniquePrefix } from './messaging-test-kit.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/interop.py', import.meta.url));

/**
 * The wire format (libs/messaging/README.md, "Wire format") read and written by another language's
 * client: a Python script on redis-py, run as a real subprocess against the same server.
 */
describe('stream entries shared with a Python service (redis-py)', () => {
  const keyPrefix = uniquePrefix('interop');
  const url = sharedRedisUrl();
  let python: string;
  let connection: RedisConnection;
  let producer: StreamProducer;
  const consumers: StreamConsumer<never>[] = [];

  /** Runs the Python script in `mode` and returns what it printed, parsed. */
  async function py<T>(...args: string[]): Promise<T> {
    const { stdout } = await run(python, [script, args[0] as string, url, ...args.slice(1)], {
      timeout: 20_000,
    });
    return JSON.parse(stdout) as T;
  }

  const keyOf = (stream: string, kind: 'stream' | 'dead-letter') =>
    connection.keyspace('messaging').tagged(stream, kind);

  async function consume<T>(options: StreamConsumerOptions<T>): Promise<void> {
    const consumer = new StreamConsumer<T>(connection, { blockMs: 200, retryDelayMs: 20, ...options });
    consumers.push(consumer as unknown as StreamConsumer<never>);
    await consumer.start();
  }

  beforeAll(async () => {
    python = requirePythonRedis();
    connection = await open({ url }, keyPrefix);
    producer = new StreamProducer(connection, { source: 'redkit-node' });
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
  });

  afterAll(async () => {
    await deleteKeys(connection, keyPrefix);
    await connection.close();
  });

  it('lets Python read what StreamProducer wrote through a group of its own, and ack it', async () => {
    for (let n = 0; n < 5; n++)
      await producer.publish(
        'to-python',
        'order.placed',
        { n, price: '64000.50' },
        { correlationId: `req-${n}` },
      );
    const { messages } = await py<{
      messages: Array<{
        type: string;
        data: unknown;
        time: number;
        source: string;
        correlationId: string;
        v: string;
      }>;
    }>('consume', keyOf('to-python', 'stream'), 'python-workers', 'py-1', '5');
    expect(messages.map((message) => message.data)).toEqual(
      [0, 1, 2, 3, 4].map((n) => ({ n, price: '64000.50' })),
    );
    expect(messages[2]).toMatchObject({
      type: 'order.placed',
      source: 'redkit-node',
      correlationId: 'req-2',
    });
    expect(Math.abs(messages[0]!.time - Date.now())).toBeLessThan(60_000);
    // Python acknowledged all five in its group.
    const pending = (await connection.client.xpending(keyOf('to-python', 'stream'), 'python-workers')) as [
      number,
    ];
    expect(pending[0]).toBe(0);
  });

  it('delivers what Python wrote to a StreamConsumer handler, decoded', async () => {
    const { ids } = await py<{ ids: string[] }>('produce', keyOf('from-python', 'stream'), '3', 'py-trace-1');
    const seen: StreamMessage<{ n: number; text: string }>[] = [];
    await consume<{ n: number; text: string }>({
      stream: 'from-python',
      group: 'node-workers',
      handler: (message) => void seen.push(message),
    });
    await eventually(() => expect(seen).toHaveLength(3));
    expect(seen.map((message) => message.id)).toEqual(ids);
    expect(seen[1]).toMatchObject({
      type: 'python.said',
      data: { n: 1, text: 'grüße from python' },
      source: 'python-interop',
      correlationId: 'py-trace-1',
      deliveries: 1,
    });
  });

  it("delivers what Python appended to a lane's key with that lane's priority, before the normal lane", async () => {
    await py('produce', keyOf('python-lanes', 'stream'), '2', 'py-normal');
    await py('produce', `${keyOf('python-lanes', 'stream')}:critical`, '2', 'py-critical');
    const seen: StreamMessage[] = [];
    await consume({
      stream: 'python-lanes',
      group: 'node-workers',
      concurrency: 1,
      handler: (message) => void seen.push(message),
    });
    await eventually(() => expect(seen).toHaveLength(4));
    expect(seen.map(({ priority, correlationId }) => [priority, correlationId])).toEqual([
      ['critical', 'py-critical'],
      ['critical', 'py-critical'],
      ['normal', 'py-normal'],
      ['normal', 'py-normal'],
    ]);
  });

  it('lets Python read a dead letter: the original fields, why, and after how many deliveries', async () => {
    await producer.publish('poisoned', 'job.run', { job: 'explode' });
    await consume<{ job: string }>({
      stream: 'poisoned',
      group: 'node-workers',
      maxDeliveries: 2,
      handler: () => {
        throw new Error('the job exploded');
      },
    });
    const inspector = new StreamInspector(connection);
    await eventually(async () => expect((await inspector.stats('poisoned')).deadLetterLength).toBe(1));
    const { deadLetters } = await py<{ deadLetters: Array<Record<string, unknown>> }>(
      'dead-letters',
      keyOf('poisoned', 'dead-letter'),
    );
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({
      type: 'job.run',
      data: { job: 'explode' },
      source: 'redkit-node',
      group: 'node-workers',
      error: 'the job exploded',
      deliveries: 2,
    });
    expect(String(deadLetters[0]!.originalId)).toMatch(/^\d+-\d+$/);
  });

  it('puts a partition key on the stream Python computes for it (32-bit FNV-1a of the UTF-8 bytes, mod N)', async () => {
    const keys = ['BTC-USD', 'acct-42', 'ÉTH-€', '市場', ''];
    const { partitions } = await py<{ partitions: number[] }>('partitions', '6', ...keys);
    expect(partitions).toEqual(keys.map((key) => partitionOf(key, 6)));
    const stream = { name: 'interop-partitioned', partitions: 6 };
    for (const [index, key] of keys.entries()) {
      await producer.publish(stream, 'order.placed', { key }, { partitionKey: key });
      const partitionKey = keyOf(`interop-partitioned#${partitions[index] as number}`, 'stream');
      const entries = await connection.client.xrange(partitionKey, '-', '+');
      expect(entries.at(-1)?.[1]).toContain(JSON.stringify({ key }));
    }
  });
});
