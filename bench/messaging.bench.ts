// Messaging benchmark: redkit Streams against BullMQ, with and without priorities, redkit's stream
// and event code with tracing on and off against the same code before its tracing hooks, and
// redkit's event bus (pub/sub) against raw ioredis pub/sub. Run it with `npm run bench -- messaging`
// (BENCH_SECONDS=1 for a quick run).
//
// - stream-throughput  one operation = publish one job, have it processed by a consumer in the same
//                      process and acknowledged; the operation ends when the consumer reports the ack
//                      (redkit: the XACK reply; BullMQ: the worker's `completed` event, which follows
//                      its moveToCompleted script). 64 in flight and a consumer concurrency of 64 for
//                      both, so neither side waits on a smaller pool. Handlers do no work.
// - stream-priorities  the same loop, each job's priority taken from a fixed mix by its sequence
//                      number (of every 10: 1 critical, 2 high, 5 normal, 2 low): redkit publishes
//                      with `{ priority }` to its four lanes and the consumer runs its weighted
//                      round-robin (default weights); BullMQ adds with `priority` 1 (critical) to 4
//                      (low), lower is sooner, which puts every job in its prioritized sorted set
//                      ("adding prioritized jobs is a slower operation than the other types of jobs,
//                      with a complexity O(log(n)) relative to the number of jobs in the prioritized
//                      set", BullMQ's guide, Jobs → Prioritized).
// - pubsub-latency     one operation = publish one event and wait until the subscriber (its own
//                      connection, same process) received it: publish→receive latency under 64 in
//                      flight. BullMQ has no pub/sub; raw-ioredis-pubsub (PUBLISH + a subscriber
//                      connection, JSON payload) is the limit.
//
// Tracing, redkit only: `redkit` runs with no tracer provider registered (tracing off, the
// default); `redkit-traced` with an OpenTelemetry SDK registered for that subject only
// (messaging/noop-tracing.ts: BasicTracerProvider, SimpleSpanProcessor, an exporter that drops the
// spans, the AsyncLocalStorage context manager), so every publish, process and receive records its
// spans; `redkit-untraced-baseline` runs the messaging lib of the commit before its tracing hooks
// (messaging/baseline.ts builds it once per commit into node_modules/.cache/redkit-bench/, on the
// current @redkit/redis; skipped with the reason when it cannot be built). redkit-traced runs after
// every other subject: recording spans turns on AsyncLocalStorage (the context manager's, and
// redkit's correlation storage, which stays on), whose async hooks every later row would pay.
// What tracing off costs is too small for rows measured one after another on a shared machine, so
// before the table `redkit` and `redkit-untraced-baseline` also run side by side in interleaved
// slices (messaging/interleaved.ts), each scenario in turn; the medians of the per-round ratios are
// the "tracing off costs" lines under the table (and bench/results/messaging-tracing-off.json).
// redkit-durable (stream rows only): `redkit` with the module's `durability: { replicas: 1 }`
// (timeoutMs 500), against a replica this file starts beside the suite's server (bench/lib/
// extra-redis.ts, shared with the lock and order-book benchmarks): every publish followed by WAIT 1,
// one per group of publishes sent together. Its cost against `redkit` is the price of durable
// publishes (libs/messaging/README.md, "Durability across failover"); the other rows run without a
// replica. Events never wait, so it has no pubsub-latency row.
// Every row also reports CPU µs/op: this process's CPU time (process.cpuUsage(), user + system,
// producer and consumer together) over the measured window, divided by its operations; other load
// on the machine disturbs it far less than ops/s.
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

import { loadavg } from 'node:os';

import { Logger } from '@nestjs/common';
import {
  EventBus,
  StreamConsumer,
  StreamProducer,
  type MessagePriority,
  type MessagingModuleOptions,
} from '@redkit/messaging';
import { RedisConnection } from '@redkit/redis';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startReplicaOf } from './lib/extra-redis.js';
import { DEFAULT_IN_FLIGHT, defaultSeconds, defaultWarmupSeconds, type Measurement } from './lib/measure.js';
import { RedisAdmin } from './lib/redis-admin.js';
import { writeResults, type ResultRow } from './lib/report.js';
import {
  atTheirBest,
  clientOptions,
  REDIS_URL_ENV,
  runSuite,
  type ClientMode,
  type Closeable,
  type Scenario,
  type SubjectDefinition,
  type Workload,
} from './lib/suite.js';
import { loadBaseline, type MessagingLib } from './messaging/baseline.js';
import { interleave, median, medianInterval, roundRatios, type Sliced } from './messaging/interleaved.js';
import { NoopTracing } from './messaging/noop-tracing.js';
import { CONCURRENCY, PAYLOAD, PRIORITY_MIX } from './messaging/workload.js';

/** BullMQ's priority of each level: 1 is the highest it has after 0, which means "no priority". */
const BULLMQ_PRIORITY: Readonly<Record<MessagePriority, number>> = {
  critical: 1,
  high: 2,
  normal: 3,
  low: 4,
};
/**
 * Interleaved tracing-off comparison: short slices, so the two subjects of a round meet nearly the
 * same load; 4 × BENCH_SECONDS measured per subject and scenario (48 rounds by default), since the
 * per-round ratios scatter by 10 % and more on a busy shared machine and the target is 3 %.
 */
const SLICE_SECONDS = 0.25;
const TRACING_OFF_TARGET_PERCENT = 3;

const SUBJECT_OFF = 'redkit';
const SUBJECT_TRACED = 'redkit-traced';
const SUBJECT_BASELINE = 'redkit-untraced-baseline';
const SUBJECT_DURABLE = 'redkit-durable';

type ScenarioName = 'stream-throughput' | 'stream-priorities' | 'pubsub-latency';

interface MessagingSubject extends Closeable {
  scenarios: readonly ScenarioName[];
  /** Stream scenarios: resolves once the job `seq` was processed and acknowledged. */
  processJob?(seq: number, priority?: MessagePriority): Promise<void>;
  /** pubsub-latency: resolves once the event `seq` reached the subscriber. */
  roundTrip?(seq: number): Promise<void>;
  /** redkit-traced: spans recorded and exported so far. */
  spansExported?(): number;
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

const CURRENT: MessagingLib = { EventBus, StreamConsumer, StreamProducer };

/**
 * redkit's producer, consumer and bus from `lib` (the current one or the baseline). `tag` names the
 * connection, the stream and the event type, so that subjects alive at once (the interleaved
 * comparison) never consume each other's entries or receive each other's events.
 */
async function redkitSubject(
  lib: MessagingLib,
  redisUrl: string,
  tag = 'bench',
  producerOptions: Partial<MessagingModuleOptions> = {},
): Promise<MessagingSubject> {
  const connection = await RedisConnection.open(tag, { url: redisUrl });
  const producer = new lib.StreamProducer(connection, { source: 'bench', ...producerOptions });
  const bus = new lib.EventBus(connection, { source: 'bench' });
  const jobs = new Waiters();
  const events = new Waiters();
  const consumer = new lib.StreamConsumer<{ seq: number }>(connection, {
    stream: tag,
    group: 'bench',
    concurrency: CONCURRENCY,
    handler: () => undefined,
    onSettled: (message, outcome) => {
      if (outcome === 'acked') jobs.settle((message as { data: { seq: number } }).data.seq);
    },
  });
  const eventType = `${tag}.ping`;
  try {
    await consumer.start();
    await bus.subscribe<{ seq: number }>(eventType, (event) => events.settle(event.data.seq));
  } catch (error) {
    await consumer.stop();
    await bus.close();
    await connection.close();
    throw error;
  }
  return {
    scenarios: ['stream-throughput', 'stream-priorities', 'pubsub-latency'],
    processJob: async (seq, priority) => {
      const done = jobs.wait(seq);
      await producer.publish(
        tag,
        'bench.job',
        { seq, ...PAYLOAD },
        priority === undefined ? undefined : { priority },
      );
      await done;
    },
    roundTrip: async (seq) => {
      const received = events.wait(seq);
      await bus.publish(eventType, { seq, ...PAYLOAD });
      await received;
    },
    close: async () => {
      await consumer.stop();
      await bus.close();
      await connection.close();
    },
  };
}

/** redkit's durable publishes, against a replica of the suite's server (stopped by close()). */
async function durableSubject(redisUrl: string): Promise<MessagingSubject> {
  const replica = await startReplicaOf(redisUrl);
  let subject: MessagingSubject;
  try {
    subject = await redkitSubject(CURRENT, redisUrl, 'bench', { durability: { replicas: 1 } });
  } catch (error) {
    await replica.stop();
    throw error;
  }
  return {
    ...subject,
    // Events are fire-and-forget: durability does not touch them.
    scenarios: ['stream-throughput', 'stream-priorities'],
    close: async () => {
      try {
        await subject.close();
      } finally {
        await replica.stop();
      }
    },
  };
}

/** redkit with the no-op SDK registered from its creation to its close. */
async function tracedSubject(redisUrl: string): Promise<MessagingSubject> {
  const tracing = new NoopTracing();
  tracing.register();
  let subject: MessagingSubject;
  try {
    subject = await redkitSubject(CURRENT, redisUrl);
  } catch (error) {
    await tracing.unregister();
    throw error;
  }
  return {
    ...subject,
    spansExported: () => tracing.spansExported,
    close: async () => {
      try {
        await subject.close();
      } finally {
        await tracing.unregister();
      }
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
    scenarios: ['stream-throughput', 'stream-priorities'],
    processJob: async (seq, priority) => {
      const done = jobs.wait(seq);
      await queue.add(
        'job',
        { seq, ...PAYLOAD },
        priority === undefined
          ? { removeOnComplete: true, removeOnFail: true }
          : { removeOnComplete: true, removeOnFail: true, priority: BULLMQ_PRIORITY[priority] },
      );
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

/** The operation of `scenario` on `subject`, or null when the subject does not run it. */
function operationOf(
  subject: MessagingSubject,
  scenario: ScenarioName,
): ((seq: number) => Promise<void>) | null {
  if (!subject.scenarios.includes(scenario)) return null;
  const { processJob, roundTrip } = subject;
  switch (scenario) {
    case 'stream-throughput':
      return processJob === undefined ? null : (seq) => processJob(seq);
    case 'stream-priorities':
      return processJob === undefined
        ? null
        : (seq) => processJob(seq, PRIORITY_MIX[seq % PRIORITY_MIX.length] as MessagePriority);
    case 'pubsub-latency':
      return roundTrip === undefined ? null : (seq) => roundTrip(seq);
  }
}

/** CPU µs per operation over the measured window, and spans per operation for the traced subject. */
function cpuAccounting(subject: MessagingSubject): Pick<Workload, 'reset' | 'extras'> {
  let cpu = process.cpuUsage();
  let spans = 0;
  return {
    reset: () => {
      spans = subject.spansExported?.() ?? 0;
      cpu = process.cpuUsage();
    },
    extras: (measurement: Measurement) => {
      const used = process.cpuUsage(cpu);
      const ops = Math.max(1, measurement.ops);
      const extras: Record<string, unknown> = {
        cpuUsPerOp: Math.round(((used.user + used.system) / ops) * 10) / 10,
      };
      if (subject.spansExported !== undefined)
        extras.spansPerOp = Math.round(((subject.spansExported() - spans) / ops) * 100) / 100;
      return extras;
    },
  };
}

const SCENARIOS: readonly ScenarioName[] = ['stream-throughput', 'stream-priorities', 'pubsub-latency'];

const scenarios: Scenario<MessagingSubject>[] = SCENARIOS.map((name) => ({
  name,
  async prepare(subject) {
    const op = operationOf(subject, name);
    return op === null ? null : { op, ...cpuAccounting(subject) };
  },
}));

function listFromEnv(name: string): string[] | undefined {
  const list = process.env[name]
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return list === undefined || list.length === 0 ? undefined : list;
}

function progress(message: string): void {
  process.stderr.write(`[bench messaging] ${message}\n`);
}

const percent = (value: number) => {
  const text = Math.abs(value).toFixed(1);
  return `${value < 0 && text !== '0.0' ? '−' : ''}${text} %`;
};
const round1 = (value: number) => Math.round(value * 10) / 10;

/**
 * `redkit` (tracing off) and `redkit-untraced-baseline` side by side in interleaved slices, each
 * scenario in turn, on the run's server (flushed afterwards, as the suite expects it empty). Returns
 * the lines for under the table: one per scenario, and one of every round of them pooled (the same
 * hooks on each path, so more rounds for one answer); writes bench/results/messaging-tracing-off.json.
 */
async function tracingOffCost(redisUrl: string, baseline: MessagingLib): Promise<string[]> {
  const onlySubjects = listFromEnv('BENCH_SUBJECTS');
  if (
    onlySubjects !== undefined &&
    !(onlySubjects.includes(SUBJECT_OFF) && onlySubjects.includes(SUBJECT_BASELINE))
  )
    return [];
  const selected = SCENARIOS.filter((name) => listFromEnv('BENCH_SCENARIOS')?.includes(name) ?? true);
  if (selected.length === 0) return [];
  const seconds = defaultSeconds();
  const rounds = Math.max(8, Math.round((4 * seconds) / SLICE_SECONDS));
  const warmupSeconds = defaultWarmupSeconds();
  // It flushes the server when done: only the fresh one scripts/bench.mjs started, which runSuite
  // checks too (never 6379, nothing in it), and which then refuses to run on anything else.
  if (Number(new URL(redisUrl).port || 6379) === 6379) return [];
  const admin = await RedisAdmin.connect(redisUrl);
  if ((await admin.keyCount()) > 0) {
    await admin.close();
    return [];
  }
  const redisVersion = await admin.version();
  const lines: string[] = [];
  const rows: ResultRow[] = [];
  const pooled: RoundCosts = { throughput: [], cpu: [] };
  const opened: MessagingSubject[] = [];
  try {
    const off = await redkitSubject(CURRENT, redisUrl, 'bench-off');
    opened.push(off);
    const base = await redkitSubject(baseline, redisUrl, 'bench-base');
    opened.push(base);
    for (const scenario of selected) {
      progress(
        `${scenario}: ${SUBJECT_OFF} vs ${SUBJECT_BASELINE}, interleaved: ${rounds} rounds of ${SLICE_SECONDS} s each`,
      );
      const [offSliced, baseSliced] = (await interleave(
        [
          { name: SUBJECT_OFF, op: operationOf(off, scenario)! },
          { name: SUBJECT_BASELINE, op: operationOf(base, scenario)! },
        ],
        { rounds, sliceSeconds: SLICE_SECONDS, warmupSeconds, inFlight: DEFAULT_IN_FLIGHT },
        progress,
      )) as [Sliced, Sliced];
      const failed = [offSliced, baseSliced].find((sliced) => sliced.errors > 0);
      if (failed !== undefined) {
        lines.push(
          `**tracing off vs ${SUBJECT_BASELINE}, ${scenario}: ${failed.name} had ${failed.errors} failed operations ` +
            `(${String(failed.firstError)}); no comparison**`,
        );
        continue;
      }
      const costs = roundCosts(offSliced, baseSliced);
      pooled.throughput.push(...costs.throughput);
      pooled.cpu.push(...costs.cpu);
      const cost = summarize(costs);
      lines.push(
        `**${scenario}: ${costLine(cost, rounds)}; in all, ${SUBJECT_OFF} ` +
          `${round1(offSliced.cpuMicros / offSliced.ops)} vs ${SUBJECT_BASELINE} ` +
          `${round1(baseSliced.cpuMicros / baseSliced.ops)} CPU µs/op, ` +
          `${Math.round(offSliced.ops / offSliced.seconds).toLocaleString('en-US')} vs ` +
          `${Math.round(baseSliced.ops / baseSliced.seconds).toLocaleString('en-US')} ops/s.`,
      );
      rows.push(...slicedRows(scenario, offSliced, baseSliced, cost));
    }
  } finally {
    for (const subject of opened) await subject.close();
    await admin.flushAll();
    await admin.close();
  }
  if (rows.length > 2) {
    lines.unshift(
      `**All ${rows.length / 2} scenarios pooled: ${costLine(summarize(pooled), pooled.cpu.length)}.`,
    );
  }
  if (rows.length > 0) {
    const file = await writeResults({
      module: 'messaging-tracing-off',
      date: new Date().toISOString(),
      node: process.version,
      redis: redisVersion,
      inFlight: DEFAULT_IN_FLIGHT,
      rows,
    });
    progress(`wrote ${file}`);
  }
  return lines;
}

/** Per round, in percent: ops/s lost and CPU µs/op added by tracing off against the baseline (negative: less). */
interface RoundCosts {
  throughput: number[];
  cpu: number[];
}

function roundCosts(off: Sliced, base: Sliced): RoundCosts {
  return {
    throughput: roundRatios(off, base, (round) => round.opsPerSec).map((ratio) => (1 - ratio) * 100),
    cpu: roundRatios(off, base, (round) => round.cpuUsPerOp).map((ratio) => (ratio - 1) * 100),
  };
}

/** The medians of round costs and their 95 % intervals. */
interface TracingOffCost {
  throughput: number;
  throughputInterval: [number, number];
  cpu: number;
  cpuInterval: [number, number];
}

function summarize(costs: RoundCosts): TracingOffCost {
  return {
    throughput: median(costs.throughput),
    throughputInterval: medianInterval(costs.throughput),
    cpu: median(costs.cpu),
    cpuInterval: medianInterval(costs.cpu),
  };
}

/** "tracing off costs X % of throughput and Y % CPU µs/op vs the baseline", the verdict and the intervals. */
function costLine(cost: TracingOffCost, rounds: number): string {
  const interval = ([low, high]: [number, number]) => `${percent(low)} … ${percent(high)}`;
  const target = TRACING_OFF_TARGET_PERCENT;
  // Over the target only when a whole interval is; under it only when both are: in between, this
  // run's noise decides nothing, whatever side the medians fall on.
  const highest = Math.max(cost.throughputInterval[1], cost.cpuInterval[1]);
  const lowest = Math.max(cost.throughputInterval[0], cost.cpuInterval[0]);
  const worst = Math.max(cost.throughput, cost.cpu);
  const verdict =
    highest < target
      ? `under the ${target} % target, both 95 % intervals too`
      : lowest >= target
        ? `OVER the ${target} % target, a whole 95 % interval too`
        : `${worst < target ? 'the medians are under' : 'a median is over'} the ${target} % target, but this ` +
          `run's noise does not settle it (the intervals reach ${worst < target ? 'past' : 'below'} it)`;
  return (
    `tracing off costs ${percent(cost.throughput)} of throughput and ${percent(cost.cpu)} CPU µs/op vs the ` +
    `baseline**: ${verdict}. Medians of ${rounds} interleaved rounds, 95 % intervals ` +
    `${interval(cost.throughputInterval)} and ${interval(cost.cpuInterval)}`
  );
}

function slicedRows(scenario: ScenarioName, off: Sliced, base: Sliced, cost: TracingOffCost): ResultRow[] {
  const row = (sliced: Sliced): ResultRow => ({
    scenario,
    subject: sliced.name,
    kind: 'redkit',
    opsPerSec: Math.round(sliced.ops / sliced.seconds),
    p50us: round1(sliced.histogram.percentile(50) / 1000),
    p99us: round1(sliced.histogram.percentile(99) / 1000),
    cpuUsPerOp: round1(sliced.cpuMicros / sliced.ops),
    rounds: sliced.rounds.map((round) => ({
      opsPerSec: Math.round(round.opsPerSec),
      cpuUsPerOp: round1(round.cpuUsPerOp),
    })),
  });
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return [
    {
      ...row(off),
      throughputCostPercent: round2(cost.throughput),
      throughputCostInterval: cost.throughputInterval.map(round2),
      cpuCostPercent: round2(cost.cpu),
      cpuCostInterval: cost.cpuInterval.map(round2),
    },
    row(base),
  ];
}

// The libs' logs (a connection is ready) go to stderr with the progress: stdout keeps just the tables.
const toStderr = (level: string) => (message: unknown) =>
  void process.stderr.write(`[${level}] ${String(message)}\n`);
Logger.overrideLogger({ log: toStderr('log'), warn: toStderr('warn'), error: toStderr('error') });

// Setup: the baseline lib (built once per commit), then the interleaved comparison, then the table.
const loadAtStart = loadavg();
const baseline = await loadBaseline();
if (baseline.lib === null) progress(`${SUBJECT_BASELINE} skipped: ${baseline.reason}`);
else
  progress(
    `${SUBJECT_BASELINE}: libs/messaging of ${baseline.commit.slice(0, 12)} (parent of ${baseline.addedBy.slice(0, 12)}, ` +
      `which added messaging.tracing.ts), ${baseline.built ? 'built now' : 'built before'}`,
  );
const baselineLib = baseline.lib;
const redisUrl = process.env[REDIS_URL_ENV];
// A failed comparison is reported under the table and fails the run, as a failed row does; the
// table is still measured.
const tracingOffLines =
  baselineLib === null || redisUrl === undefined
    ? []
    : await tracingOffCost(redisUrl, baselineLib).catch((error: unknown) => {
        process.exitCode = 1;
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        progress(`the interleaved tracing-off comparison failed: ${reason}`);
        return [`**the interleaved tracing-off comparison failed: ${reason}**`];
      });
const loadAfterComparison = loadavg();

const subjects: SubjectDefinition<MessagingSubject>[] = [
  { name: SUBJECT_OFF, kind: 'redkit', create: (url) => redkitSubject(CURRENT, url) },
  {
    name: SUBJECT_BASELINE,
    kind: 'redkit',
    create: async (url) => (baselineLib === null ? null : redkitSubject(baselineLib, url)),
    skipReason: baseline.lib === null ? baseline.reason : undefined,
  },
  { name: SUBJECT_DURABLE, kind: 'redkit', create: durableSubject },
  ...atTheirBest<MessagingSubject>({ name: 'bullmq', kind: 'peer', create: bullmqSubject }),
  ...atTheirBest<MessagingSubject>({ name: 'raw-ioredis-pubsub', kind: 'limit', create: rawPubsubSubject }),
  // Last: see the top of this file.
  { name: SUBJECT_TRACED, kind: 'redkit', create: tracedSubject },
];

const loads = (load: number[]) => load.map((value) => value.toFixed(2)).join(', ');

await runSuite({
  module: 'messaging',
  scenarios,
  subjects,
  extraColumns: [
    { key: 'cpuUsPerOp', title: 'CPU µs/op' },
    { key: 'spansPerOp', title: 'spans/op' },
  ],
  notes: [
    ...tracingOffLines,
    `stream-throughput: publish one job → processed by a same-process consumer (concurrency ${CONCURRENCY}) → ` +
      'acknowledged; the op ends at the ack (redkit: XACK reply; BullMQ: worker `completed` event). ' +
      'redkit: StreamProducer (XADD MAXLEN ~) + StreamConsumer; BullMQ: Queue.add (removeOnComplete) + Worker.',
    'stream-priorities: the same, each job with a priority from a fixed mix (of every 10: 1 critical, 2 high, 5 normal, ' +
      '2 low); redkit: publish `{ priority }` (four lane streams, weighted round-robin 8/4/2/1); BullMQ: `priority` ' +
      '1-4 (its prioritized sorted set, O(log n) per add by its docs).',
    'pubsub-latency: publish one event → received by the subscriber connection; p50/p99 are publish→receive ' +
      'under 64 in flight. raw-ioredis-pubsub: PUBLISH of the same JSON + one subscriber connection.',
    `${SUBJECT_OFF}: no tracer provider (tracing off). ${SUBJECT_TRACED}: an OpenTelemetry BasicTracerProvider + ` +
      'SimpleSpanProcessor with an exporter that drops spans + the AsyncLocalStorage context manager, registered ' +
      'for that subject only (spans/op counts what it recorded); it runs last, since the AsyncLocalStorage hooks ' +
      `it turns on stay on. ${SUBJECT_BASELINE}: ` +
      (baseline.lib === null
        ? `skipped (${baseline.reason}).`
        : `libs/messaging of ${baseline.commit.slice(0, 12)}, the parent of ${baseline.addedBy.slice(0, 12)} which ` +
          'added the messaging tracing hooks, on the current @redkit/redis. "tracing off costs" lines: the two run ' +
          `side by side in interleaved ${SLICE_SECONDS} s slices before the table: medians of per-round ratios, ` +
          'with distribution-free 95 % intervals.'),
    `${SUBJECT_DURABLE}: ${SUBJECT_OFF} with durability { replicas: 1 } against one replica of the suite server ` +
      "(every publish waits for the replica's acknowledgement: WAIT 1 500, one per group of publishes sent " +
      'together); the other rows run without a replica.',
    'CPU µs/op: this process (producer and consumer together) over the measured window, process.cpuUsage().',
    'bullmq and raw-ioredis-pubsub run on plain and on auto-pipelined ioredis clients (BullMQ: ' +
      '`enableAutoPipelining` in its `connection` options, which every connection it opens inherits); ★ marks the ' +
      'faster, which the ratios use. redkit keeps its defaults (auto-pipelining on).',
    'redis cmds/op: commands the server ran per operation in the measured window (INFO commandstats).',
    `load average (1, 5, 15 min) at the start: ${loads(loadAtStart)}; after the interleaved comparison: ` +
      `${loads(loadAfterComparison)} (2 cores, shared).`,
  ],
});
