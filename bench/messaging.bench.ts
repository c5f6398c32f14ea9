// Messaging benchmark: redkit Streams against BullMQ, and redkit's event bus (pub/sub) against raw
// ioredis pub/sub. Run it with `npm run bench -- messaging` (BENCH_SECONDS=1 for a quick run).
//
// - stream-throughput  one operation = publish one job, have it processed by a consumer in the same
//                      process and acknowledged; the operation ends when the consumer reports the ack
//                      (redkit: the XACK reply; BullMQ: the worker's `completed` event, which follows
//                      its moveToCompleted script). 64 in flight and a consumer concurrency of 64 for
//                      both, so neither side waits on a smaller pool. Handlers do no work.
// - pubsub-latency     one operation = publish one event and wait until the subscriber (its own
//                      connection, same process) received it: publish→receive latency under 64 in
//                      flight. BullMQ has no pub/sub; raw-ioredis-pubsub (PUBLISH + a subscriber
//                      connection, JSON payload) is the limit.
//
// Product defaults everywhere else: redkit trims streams (MAXLEN ~ 100000) and dead-letters after 5
// deliveries; BullMQ jobs are removed on completion (removeOnComplete), which keeps its memory bounded
// like the trimming does, with its default retries (attempts 1).
//
// BullMQ and the raw pub/sub limit run twice (atTheirBest, bench/README.md): on plain ioredis
// clients and on auto-pipelined ones. BullMQ builds its own ioredis connections (Queue, Worker and
// the Worker's blocking connection) from the `connection` options it is given, so the client mode
// is passed there as `enableAutoPipelining`, next to the `maxRetriesPerRequest: null` BullMQ
// requires; the raw limit's publisher and subscriber both get the mode.
import 'reflect-metadata';

import { EventBus, StreamConsumer, StreamProducer } from '@redkit/messaging';
import { RedisConnection } from '@redkit/redis';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { atTheirBest, clientOptions, runSuite } from './lib/suite.js';
import type { ClientMode, Closeable, Scenario, SubjectDefinition } from './lib/suite.js';

const CONCURRENCY = 64;
const PAYLOAD = { orderId: 'ord_01HZX4T9K2M8Q7W3E5R6Y1U0PA', symbol: 'BTC-USD', price: '64250.50' };

type ScenarioName = 'stream-throughput' | 'pubsub-latency';

interface MessagingSubject extends Closeable {
  scenarios: readonly ScenarioName[];
  /** stream-throughput: resolves once the job `seq` was processed and acknowledged. */
  processJob?(seq: number): Promise<void>;
  /** pubsub-latency: resolves once the event `seq` reached the subscriber. */
  roundTrip?(seq: number): Promise<void>;
}

/** Promises by sequence number, settled from the consuming side. */
class Waiters {
  private readonly pending = new Map<number, () => void>();

  wait(seq: number): Promise<void> {
    return new Promise((resolve) => this.pending.set(seq, resolve));
  }

  settle(seq: number): void {
    const resolve = this.pending.get(seq);
    if (resolve === undefined) return;
    this.pending.delete(seq);
    resolve();
  }
}

async function redkitSubject(redisUrl: string): Promise<MessagingSubject> {
  const connection = await RedisConnection.open('bench', { url: redisUrl });
  const producer = new StreamProducer(connection, { source: 'bench' });
  const bus = new EventBus(connection, { source: 'bench' });
  const jobs = new Waiters();
  const events = new Waiters();
  const consumer = new StreamConsumer<{ seq: number }>(connection, {
    stream: 'bench',
    group: 'bench',
    concurrency: CONCURRENCY,
    handler: () => undefined,
    onSettled: (message, outcome) => {
      if (outcome === 'acked') jobs.settle((message as { data: { seq: number } }).data.seq);
    },
  });
  await consumer.start();
  await bus.subscribe<{ seq: number }>('bench.ping', (event) => events.settle(event.data.seq));
  return {
    scenarios: ['stream-throughput', 'pubsub-latency'],
    processJob: async (seq) => {
      const done = jobs.wait(seq);
      await producer.publish('bench', 'bench.job', { seq, ...PAYLOAD });
      await done;
    },
    roundTrip: async (seq) => {
      const received = events.wait(seq);
      await bus.publish('bench.ping', { seq, ...PAYLOAD });
      await received;
    },
    close: async () => {
      await consumer.stop();
      await bus.close();
      await connection.close();
    },
  };
}

async function bullmqSubject(redisUrl: string, mode: ClientMode): Promise<MessagingSubject> {
  const url = new URL(redisUrl);
  // Options, not a client: BullMQ opens every connection it needs (the Worker's blocking one too)
  // from them, so all of them get the mode.
  const connection = {
    host: url.hostname,
    port: Number(url.port),
    maxRetriesPerRequest: null,
    ...clientOptions(mode),
  };
  const queue = new Queue('bench', { connection });
  const jobs = new Waiters();
  const worker = new Worker<{ seq: number }>('bench', async () => undefined, {
    connection,
    concurrency: CONCURRENCY,
  });
  worker.on('completed', (job) => jobs.settle(job.data.seq));
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  return {
    scenarios: ['stream-throughput'],
    processJob: async (seq) => {
      const done = jobs.wait(seq);
      await queue.add('job', { seq, ...PAYLOAD }, { removeOnComplete: true, removeOnFail: true });
      await done;
    },
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

async function rawPubsubSubject(redisUrl: string, mode: ClientMode): Promise<MessagingSubject> {
  const publisher = new Redis(redisUrl, clientOptions(mode));
  const subscriber = new Redis(redisUrl, clientOptions(mode));
  const events = new Waiters();
  subscriber.on('message', (_channel: string, message: string) => {
    events.settle((JSON.parse(message) as { seq: number }).seq);
  });
  await subscriber.subscribe('bench.ping');
  return {
    scenarios: ['pubsub-latency'],
    roundTrip: async (seq) => {
      const received = events.wait(seq);
      await publisher.publish('bench.ping', JSON.stringify({ seq, ...PAYLOAD }));
      await received;
    },
    close: async () => {
      await subscriber.quit();
      await publisher.quit();
    },
  };
}

const subjects: SubjectDefinition<MessagingSubject>[] = [
  { name: 'redkit', kind: 'redkit', create: redkitSubject },
  ...atTheirBest<MessagingSubject>({ name: 'bullmq', kind: 'peer', create: bullmqSubject }),
  ...atTheirBest<MessagingSubject>({ name: 'raw-ioredis-pubsub', kind: 'limit', create: rawPubsubSubject }),
];

const scenarios: Scenario<MessagingSubject>[] = [
  {
    name: 'stream-throughput',
    async prepare(subject) {
      const { processJob } = subject;
      if (!subject.scenarios.includes('stream-throughput') || processJob === undefined) return null;
      return { op: (seq) => processJob(seq) };
    },
  },
  {
    name: 'pubsub-latency',
    async prepare(subject) {
      const { roundTrip } = subject;
      if (!subject.scenarios.includes('pubsub-latency') || roundTrip === undefined) return null;
      return { op: (seq) => roundTrip(seq) };
    },
  },
];

await runSuite({
  module: 'messaging',
  scenarios,
  subjects,
  notes: [
    `stream-throughput: publish one job → processed by a same-process consumer (concurrency ${CONCURRENCY}) → ` +
      'acknowledged; the op ends at the ack (redkit: XACK reply; BullMQ: worker `completed` event). ' +
      'redkit: StreamProducer (XADD MAXLEN ~) + StreamConsumer; BullMQ: Queue.add (removeOnComplete) + Worker.',
    'pubsub-latency: publish one event → received by the subscriber connection; p50/p99 are publish→receive ' +
      'under 64 in flight. raw-ioredis-pubsub: PUBLISH of the same JSON + one subscriber connection.',
    'bullmq and raw-ioredis-pubsub run on plain and on auto-pipelined ioredis clients (BullMQ: ' +
      '`enableAutoPipelining` in its `connection` options, which every connection it opens inherits); ★ marks the ' +
      'faster, which the ratios use. redkit keeps its defaults (auto-pipelining on).',
    'redis cmds/op: commands the server ran per operation in the measured window (INFO commandstats).',
  ],
});
