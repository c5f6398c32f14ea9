// App benchmark: the sample API's depth snapshot over HTTP, cached and uncached, against a bare Nest
// handler returning a constant (the limit: what Nest + Express cost before any work). Run it with
// `npm run bench -- app` (BENCH_SECONDS=1 for a quick run).
//
// The API runs in its own process (bench/app/server.ts, forked), so autocannon's load generation has
// its own event loop; both share the machine's cores. autocannon keeps 64 connections busy, one
// request in flight each (no pipelining), for BENCH_SECONDS per row after BENCH_WARMUP_SECONDS of
// warm-up. A row is measured in three slices that alternate with the other subjects of its scenario,
// so that load from elsewhere on the machine hits both alike; ops/s are over all slices, p50/p99 the
// median of the slices'. The extra column is the API process's CPU time per request (user + system,
// from process.cpuUsage around each slice), which contention on a shared machine disturbs least.
//
// - book-cached    GET /markets/BTC-USD/book?depth=20: answered from the two-level cache's L1 (the
//                  key never changes during the run), so the handler, its validation pipe and Redis
//                  are skipped; what is left is Nest's routing, the cache interceptor and JSON.
//
// Two limits, both a handler returning a constant: the same depth-20 book object, read once at
// startup, so that every row of a scenario sends the same bytes (autocannon shares the machine, and
// parsing bigger answers would cost it, not the server, throughput):
// - bare-handler   GET /bare inside the API (bench/app/server.ts adds the route): the same Express
//                  app and the same global cache interceptor, validation pipe and exception filter
//                  as the book route. This is the `vs limit` reference: it isolates what the book
//                  route itself costs.
// - bare-nest-app  GET /bare on a Nest app with nothing but that controller: also without the app's
//                  global interceptor, which Nest runs through RxJS on every route (CacheModule
//                  registers it app-wide, so every route of an app using @Cacheable pays it).
// - book-uncached  the same with fresh=true, which bypasses the cache: validation, then one Lua read
//                  of the top 20 levels of each side and the metadata from the order-book store.
//
// The book holds 200 levels per side. The API runs with rate limits off (RATE_LIMITS=off): with them
// on, every request, cached or not, pays the limiter's Redis round trip first, and the rows would
// measure that. The metrics endpoint and /health are not on these routes' path.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import autocannon, { type AutocannonResult } from 'autocannon';
import { Redis } from 'ioredis';

import { defaultSeconds, defaultWarmupSeconds, DEFAULT_IN_FLIGHT } from './lib/measure.js';
import { markdownTable, writeResults, type Kind, type ResultRow } from './lib/report.js';
import { REDIS_URL_ENV } from './lib/suite.js';

/** Each row is measured in this many slices, alternating with the other subjects of its scenario. */
const ROUNDS = 3;

interface Target {
  scenario: string;
  subject: string;
  kind: Kind;
  url: string;
}

function run(url: string, seconds: number): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: DEFAULT_IN_FLIGHT, pipelining: 1, duration: seconds }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

/** The forked API process: its URLs, and its CPU time so far (µs, user + system). */
interface AppServer {
  urls: { api: string; bare: string };
  cpuMicros(): Promise<number>;
  stop(): void;
}

async function startServer(redisUrl: string): Promise<AppServer> {
  const child = fork(fileURLToPath(new URL('./app/server.ts', import.meta.url)), [], {
    execArgv: [
      '--enable-source-maps',
      '--import',
      fileURLToPath(new URL('./lib/register.mjs', import.meta.url)),
    ],
    env: { ...process.env, BENCH_REDIS_URL: redisUrl, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const urls = await new Promise<{ api: string; bare: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { api: string; bare: string }));
    child.once('exit', (code) => reject(new Error(`the app server exited with ${code} before listening`)));
  });
  const cpuMicros = (): Promise<number> =>
    new Promise((resolve) => {
      child.once('message', (message) => resolve((message as { cpuMicros: number }).cpuMicros));
      child.send('cpu');
    });
  return { urls, cpuMicros, stop: () => child.disconnect() };
}

/** What the rounds of one row add up to. */
interface RowTotals {
  requests: number;
  seconds: number;
  cpuMicros: number;
  p50: number[];
  p99: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const redisUrl = process.env[REDIS_URL_ENV];
  if (!redisUrl) throw new Error(`${REDIS_URL_ENV} is not set: run it with npm run bench -- app`);
  const admin = new Redis(redisUrl);
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
  await admin.flushall();
  admin.disconnect();

  const seconds = defaultSeconds();
  const warmup = defaultWarmupSeconds();
  const rounds = Math.max(1, Math.min(ROUNDS, Math.floor(seconds)));
  const server = await startServer(redisUrl);
  const rows: ResultRow[] = [];
  try {
    const book = `${server.urls.api}/markets/BTC-USD/book?depth=20`;
    const bare = `${server.urls.api}/bare`;
    const bareApp = `${server.urls.bare}/bare`;
    const scenarios: { scenario: string; targets: Target[] }[] = [
      {
        scenario: 'book-cached',
        targets: [
          { scenario: 'book-cached', subject: 'redkit', kind: 'redkit', url: book },
          { scenario: 'book-cached', subject: 'bare-handler', kind: 'limit', url: bare },
          { scenario: 'book-cached', subject: 'bare-nest-app', kind: 'limit', url: bareApp },
        ],
      },
      {
        scenario: 'book-uncached',
        targets: [
          { scenario: 'book-uncached', subject: 'redkit', kind: 'redkit', url: `${book}&fresh=true` },
          { scenario: 'book-uncached', subject: 'bare-handler', kind: 'limit', url: bare },
          { scenario: 'book-uncached', subject: 'bare-nest-app', kind: 'limit', url: bareApp },
        ],
      },
    ];
    for (const { scenario, targets } of scenarios) {
      process.stderr.write(`app: ${scenario} (${targets.map((target) => target.subject).join(' / ')}) ...\n`);
      if (warmup > 0) for (const target of targets) await run(target.url, warmup);
      const totals = targets.map((): RowTotals => ({
        requests: 0,
        seconds: 0,
        cpuMicros: 0,
        p50: [],
        p99: [],
      }));
      // Rounds alternate the subjects, so that load from elsewhere on the machine hits both alike.
      for (let round = 0; round < rounds; round += 1) {
        for (const [index, target] of targets.entries()) {
          const cpuBefore = await server.cpuMicros();
          const result = await run(target.url, seconds / rounds);
          const cpuAfter = await server.cpuMicros();
          if (result.non2xx > 0 || result.errors > 0) {
            throw new Error(
              `${scenario}/${target.subject}: ${result.non2xx} non-2xx answers, ${result.errors} errors`,
            );
          }
          const row = totals[index] as RowTotals;
          row.requests += result.requests.total;
          row.seconds += result.duration;
          row.cpuMicros += cpuAfter - cpuBefore;
          row.p50.push(result.latency.p50);
          row.p99.push(result.latency.p99);
        }
      }
      for (const [index, target] of targets.entries()) {
        const row = totals[index] as RowTotals;
        rows.push({
          scenario,
          subject: target.subject,
          kind: target.kind,
          opsPerSec: Math.round(row.requests / row.seconds),
          p50us: Math.round(median(row.p50) * 1000),
          p99us: Math.round(median(row.p99) * 1000),
          serverCpuUsPerRequest: Math.round((row.cpuMicros / row.requests) * 10) / 10,
        });
      }
    }
  } finally {
    server.stop();
  }
  const file = await writeResults({
    module: 'app',
    date: new Date().toISOString(),
    node: process.version,
    redis: redisVersion,
    inFlight: DEFAULT_IN_FLIGHT,
    rows,
  });
  process.stdout.write(
    `\n## app (64 connections, ${seconds} s per row in ${rounds} alternating rounds)\n\n${markdownTable(
      rows,
      [{ key: 'serverCpuUsPerRequest', title: 'server CPU µs/req' }],
    )}\n`,
  );
  process.stderr.write(`results written to ${file}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
