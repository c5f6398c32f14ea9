import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StreamInspector, StreamProducer } from '@redkit/messaging';
import type { RedisConnection } from '@redkit/redis';

import { eventually, forkReadyWorkers, messageFrom, sharedTopologies } from '../harness/index.js';
import { deleteKeys, open, uniquePrefix } from './messaging-test-kit.js';

const worker = fileURLToPath(new URL('./fixtures/stream-consumer.worker.mjs', import.meta.url));
const ENTRIES = 10_000;

describe.each(sharedTopologies)('3 consumer processes on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('multi');
  const children: ChildProcess[] = [];
  let connection: RedisConnection;

  beforeAll(async () => {
    connection = await open(redis(), keyPrefix);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await deleteKeys(connection, keyPrefix);
    await connection.close();
  });

  it(`process every one of ${ENTRIES} entries at least once and ack them all, though one is SIGKILLed mid-batch`, async () => {
    const producer = new StreamProducer(connection, { streamMaxLen: 0 });
    const inspector = new StreamInspector(connection);
    const processedKey = `${keyPrefix}:test:processed`;
    const ids = new Set<string>();
    for (let batch = 0; batch < ENTRIES / 500; batch++) {
      const published = await Promise.all(
        Array.from({ length: 500 }, (_, index) =>
          producer.publish('work', 'job', { n: batch * 500 + index }),
        ),
      );
      for (const id of published) ids.add(id);
    }
    expect(ids.size).toBe(ENTRIES);

    const options = JSON.stringify({ ...redis(), keyPrefix });
    await forkReadyWorkers(
      worker,
      3,
      (index) => [options, 'work', 'workers', `worker-${index}`, processedKey],
      children,
    );
    const victim = children[0] as ChildProcess;
    const victimBusy = messageFrom(
      victim,
      (message) => ((message as { handled?: number }).handled ?? 0) >= 1_000,
    );
    for (const child of children) child.send('go');
    await victimBusy;
    victim.kill('SIGKILL');

    // It died holding delivered, unacknowledged entries: the others must take them over.
    const key = producer.keyOf('work');
    const held = (await connection.client.xpending(key, 'workers', '-', '+', 100, 'worker-0')) as unknown[];
    expect(held.length).toBeGreaterThan(0);

    await eventually(
      async () => {
        expect(await connection.client.scard(processedKey)).toBe(ENTRIES);
        const [group] = (await inspector.stats('work')).groups;
        expect(group).toMatchObject({ pending: 0, lag: 0 });
      },
      45_000,
      250,
    );
    const processed = new Set(await connection.client.smembers(processedKey));
    for (const id of ids) expect(processed.has(id)).toBe(true);

    const survivors = children.slice(1);
    const stopped = survivors.map((child) =>
      messageFrom(
        child,
        (message) => typeof message === 'object' && message !== null && 'stopped' in message,
      ),
    );
    for (const child of survivors) child.send('stop');
    await Promise.all(stopped);
  }, 60_000);
});
