// What durable publishes cost, measured apart from what replication itself costs (not part of the
// suite, whose `redkit` rows run without a replica): a primary and one replica started here, and
// `redkit` and `redkit-durable` (`durability: { replicas: 1 }`) side by side on that same pair, each
// with its own connection, stream and consumer, in interleaved slices (messaging/interleaved.ts):
// ROUNDS rounds of SECONDS per subject and scenario, the medians of the per-round ratios printed
// with their 95 % intervals. One operation is the suite's: publish → processed → acked. Usage:
//   node --expose-gc --import ./bench/lib/register.mjs bench/messaging/durable-interleaved.ts [rounds] [seconds]
// (after `npm run build`: '@redkit/*' resolve to dist/, as in the suite).
import 'reflect-metadata';

import { Logger } from '@nestjs/common';
import {
  StreamConsumer,
  StreamProducer,
  type MessagePriority,
  type MessagingModuleOptions,
} from '@redkit/messaging';
import { RedisConnection } from '@redkit/redis';

import { startExtraRedis, startReplicaOf } from '../lib/extra-redis.js';
import { interleave, median, medianInterval, roundRatios, type Sliced } from './interleaved.js';
import { CONCURRENCY, PAYLOAD, PRIORITY_MIX } from './workload.js';

const [roundsText = '16', secondsText = '0.25'] = process.argv.slice(2);
const ROUNDS = Number(roundsText);
const SECONDS = Number(secondsText);
const IN_FLIGHT = 64;
Logger.overrideLogger(false);

interface Subject {
  process(seq: number, priority?: MessagePriority): Promise<void>;
  close(): Promise<void>;
}

async function subject(url: string, tag: string, options: MessagingModuleOptions): Promise<Subject> {
  const connection = await RedisConnection.open(tag, { url });
  const producer = new StreamProducer(connection, { source: 'bench', ...options });
  const waiting = new Map<number, () => void>();
  const consumer = new StreamConsumer<{ seq: number }>(connection, {
    stream: tag,
    group: 'bench',
    concurrency: CONCURRENCY,
    handler: () => undefined,
    onSettled: (message, outcome) => {
      if (outcome !== 'acked') return;
      const seq = (message as { data: { seq: number } }).data.seq;
      waiting.get(seq)?.();
      waiting.delete(seq);
    },
  });
  await consumer.start();
  return {
    async process(seq, priority) {
      const done = new Promise<void>((resolve) => waiting.set(seq, resolve));
      await producer.publish(tag, 'bench.job', { seq, ...PAYLOAD }, priority && { priority });
      await done;
    },
    async close() {
      await consumer.stop();
      await connection.close();
    },
  };
}

const progress = (message: string) => void process.stderr.write(`[durable] ${message}\n`);
const primary = await startExtraRedis();
const replica = await startReplicaOf(primary.url);
const plain = await subject(primary.url, 'default', {});
const durable = await subject(primary.url, 'durable', { durability: { replicas: 1 } });

const scenarios: Record<string, (target: Subject) => (seq: number) => Promise<void>> = {
  'stream-throughput': (target) => (seq) => target.process(seq),
  'stream-priorities': (target) => (seq) =>
    target.process(seq, PRIORITY_MIX[seq % PRIORITY_MIX.length] as MessagePriority),
};

const ratio = (values: number[]) => {
  const [low, high] = medianInterval(values);
  return `${median(values).toFixed(2)}× (${low.toFixed(2)} … ${high.toFixed(2)})`;
};
const lines = [
  `| scenario | redkit ops/s | redkit-durable ops/s | durable / default ops/s | durable / default CPU µs/op |`,
  '|---|---:|---:|---:|---:|',
];
try {
  for (const [name, make] of Object.entries(scenarios)) {
    progress(`${name}: ${ROUNDS} rounds of ${SECONDS} s each`);
    const [off, on] = (await interleave(
      [
        { name: 'redkit', op: make(plain) },
        { name: 'redkit-durable', op: make(durable) },
      ],
      { rounds: ROUNDS, sliceSeconds: SECONDS, warmupSeconds: 1, inFlight: IN_FLIGHT },
      progress,
    )) as [Sliced, Sliced];
    const failed = [off, on].find((sliced) => sliced.errors > 0);
    if (failed !== undefined) throw new Error(`${failed.name} failed: ${String(failed.firstError)}`);
    const rate = (sliced: Sliced) => Math.round(sliced.ops / sliced.seconds).toLocaleString('en-US');
    lines.push(
      `| ${name} | ${rate(off)} | ${rate(on)} | ${ratio(roundRatios(on, off, (round) => round.opsPerSec))} | ` +
        `${ratio(roundRatios(on, off, (round) => round.cpuUsPerOp))} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await plain.close();
  await durable.close();
  await replica.stop();
  await primary.stop();
}
