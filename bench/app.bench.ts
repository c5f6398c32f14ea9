// App benchmark: the sample API's depth snapshot over HTTP, cached and uncached, against a bare Nest
// handler returning a constant (the limit: what Nest + Express cost before any work). Run it with
// `npm run bench -- app` (BENCH_SECONDS=1 for a quick run).
//
// The API runs in its own process (bench/app/server.ts, forked), so autocannon's load generation has
// its own event loop; both share the machine's cores. autocannon keeps 64 connections busy, one
// request in flight each (no pipelining), for BENCH_SECONDS after BENCH_WARMUP_SECONDS of warm-up.
//
// - bare-handler   GET /bare on a Nest app with one controller returning { ok: true }.
// - book-cached    GET /markets/BTC-USD/book?depth=20: answered from the two-level cache's L1 (the
//                  key never changes during the run), so the handler, its validation pipe and Redis
//                  are skipped; what is left is Nest's routing, the cache interceptor and JSON.
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

async function startServer(redisUrl: string): Promise<{ urls: { api: string; bare: string }; stop(): void }> {
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
  return { urls, stop: () => child.disconnect() };
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
  const server = await startServer(redisUrl);
  const rows: ResultRow[] = [];
  try {
    const targets: Target[] = [
      {
        scenario: 'book-cached',
        subject: 'redkit',
        kind: 'redkit',
        url: `${server.urls.api}/markets/BTC-USD/book?depth=20`,
      },
      { scenario: 'book-cached', subject: 'bare-handler', kind: 'limit', url: `${server.urls.bare}/bare` },
      {
        scenario: 'book-uncached',
        subject: 'redkit',
        kind: 'redkit',
        url: `${server.urls.api}/markets/BTC-USD/book?depth=20&fresh=true`,
      },
      { scenario: 'book-uncached', subject: 'bare-handler', kind: 'limit', url: `${server.urls.bare}/bare` },
    ];
    for (const target of targets) {
      process.stderr.write(`app: ${target.scenario} / ${target.subject} ...\n`);
      if (warmup > 0) await run(target.url, warmup);
      const result = await run(target.url, seconds);
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(
          `${target.scenario}/${target.subject}: ${result.non2xx} non-2xx answers, ${result.errors} errors`,
        );
      }
      rows.push({
        scenario: target.scenario,
        subject: target.subject,
        kind: target.kind,
        opsPerSec: Math.round(result.requests.average),
        p50us: Math.round(result.latency.p50 * 1000),
        p99us: Math.round(result.latency.p99 * 1000),
      });
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
  process.stdout.write(`\n## app (64 connections, ${seconds} s per row)\n\n${markdownTable(rows)}\n`);
  process.stderr.write(`results written to ${file}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
