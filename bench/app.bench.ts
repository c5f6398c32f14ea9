// App benchmark: the sample API over HTTP, on Fastify and on Express, against bare servers answering
// the same bytes. Run it with `npm run bench -- app` (BENCH_SECONDS=1 for a quick run;
// BENCH_SUBJECTS / BENCH_SCENARIOS narrow it to some rows; BENCH_APP_CPU_PROF=<dir> profiles each
// server process over each scenario's warm-up and slices, written to <dir>/<subject>.<scenario>.cpuprofile,
// read with bench/app/profile-summary.ts; profiled runs are slower, their table is not the one to quote).
//
// Every server runs in its own process (bench/app/server.ts, forked), and autocannon in this one:
// 64 connections, one request in flight each (no HTTP pipelining), BENCH_WARMUP_SECONDS of warm-up
// per row, then BENCH_SECONDS measured in three slices that alternate with the other rows of the
// scenario, so that load from elsewhere on the machine (2 cores, shared) hits them alike. Latency is
// per response, whatever its status, from autocannon's request timer. Columns beside req/s:
// - API CPU µs/req: the server process's CPU time (user + system, process.cpuUsage() asked over IPC
//   around each slice) over the responses it sent: what contention on a shared machine disturbs
//   least, and the capacity a server would have on a core of its own (1e6 / µs per request).
// - loadgen CPU µs/req: the same for this process (autocannon): when server + load generator need
//   more than the 2 cores, req/s say more about the machine than about the server.
// - vs bare-nest-fastify: req/s over bare-nest-fastify's in the same scenario (the limit the targets
//   name); `vs limit` divides by the fastest limit row (usually bare-node-http). CPU vs
//   bare-nest-fastify: the same ratio from CPU µs per request.
// - redis cmds/req: INFO commandstats around each slice (a script counts its EVALSHA plus the
//   commands it runs).
// Before each slice every server of the scenario is let go idle: an order autocannon abandoned at
// the end of a slice is still worked on (queued behind the market's lock), and belongs to no slice.
//
// Scenarios (the same subject names across them, so the rows line up):
// - book-cached    GET /markets/BTC-USD/book?depth=20 from the two-level cache's L1 (the book never
//                  changes during the row). The API runs with rate limits off (RATE_LIMITS=off), so
//                  no limiter round trip precedes the cache.
// - book-uncached  the same with fresh=true, which bypasses the cache: validation, then one Lua read
//                  of the top 20 levels of each side and the metadata from the order-book store.
// - limited-429    the same cached route on an API with rate limits on (100 reads/s per client), all
//                  64 connections one client (no X-Forwarded-For): ~99 % of answers are 429 with
//                  the RateLimit headers and a JSON body; the guard's one Redis round trip each.
// - place-order    POST /markets/BTC-USD/orders on the rate-limited API with TRUST_PROXY on, each
//                  request with its own X-Forwarded-For (autocannon's [<id>] replacement), so the
//                  write limit (10/s per client) is checked on every request and never reached.
//                  Each connection alternates a buy at 64001 and a sell at 63999 of 0.01: after the
//                  first levels are eaten, about half the orders rest and half match (matching under
//                  the per-symbol lock, trades published, the cached book evicted).
//
// Limits, answering the API's cached depth-20 book (fetched from it at startup) on GET and on POST
// /bare, serialised per request: bare-node-http (node:http, nothing else), bare-nest-fastify and
// bare-nest-express (a Nest app with that one controller: no redkit, no global guard, pipe,
// interceptor or filter). They run the same requests as the API rows of each scenario (place-order:
// the same POST bodies and headers).
//
// The API rows are api-fastify and api-express (createApp with httpAdapter). Two processes of each
// configuration (rate limits off, then on) never run at once: book-cached and book-uncached use the
// first pair, limited-429 and place-order the second; each API process seeds BTC-USD with 200
// levels per side when it starts. Both API processes of a pair share the Redis (as two instances
// behind a load balancer would): the idle one also receives the other's cache invalidations and
// events.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { startServerProcess, type ServerProcess } from './app/server-process.js';
import { runLoad, type Load, type LoadRequest, type LoadResult } from './app/load.js';
import { SEEDED_LEVELS, type AdapterName, type ServerSpec } from './app/protocol.js';
import { LatencyHistogram } from './lib/histogram.js';
import { callsPerOp, RedisAdmin, type CommandCalls } from './lib/redis-admin.js';
import { DEFAULT_IN_FLIGHT, defaultSeconds, defaultWarmupSeconds } from './lib/measure.js';
import { markdownTable, writeResults, type Kind, type ResultRow } from './lib/report.js';
import { REDIS_URL_ENV } from './lib/suite.js';

/** Each row is measured in this many slices, alternating with the other rows of its scenario. */
const ROUNDS = 3;
const BOOK_PATH = '/markets/BTC-USD/book?depth=20';
const ORDERS_PATH = '/markets/BTC-USD/orders';
/** Crossing orders: each eats the best level of the other side, or rests where the other side will eat it. */
const ORDERS = [
  { side: 'buy', price: '64001', quantity: '0.01' },
  { side: 'sell', price: '63999', quantity: '0.01' },
] as const;
const LIMIT_SUBJECT = 'bare-nest-fastify';

type ScenarioName = 'book-cached' | 'book-uncached' | 'limited-429' | 'place-order';

/** A server process: what it runs. */
type ServerKey =
  | 'bare-node-http'
  | 'bare-nest-fastify'
  | 'bare-nest-express'
  | 'api-fastify'
  | 'api-express'
  | 'api-fastify-rate-limited'
  | 'api-express-rate-limited';

interface Row {
  subject: string;
  kind: Kind;
  server: ServerKey;
  load: (origin: string) => Load;
  /** Statuses a healthy answer may have; anything else is counted in `unexpected`. */
  expected: readonly number[];
}

interface ScenarioDefinition {
  name: ScenarioName;
  rows: Row[];
  notes?: string;
}

const get = (path: string): LoadRequest => ({ method: 'GET', path });

const orderRequests = (path: string): LoadRequest[] =>
  ORDERS.map((order) => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': 'client-[<id>]' },
    body: JSON.stringify(order),
  }));

/** The three limits of a scenario, sending what its API rows send, to /bare. */
function limits(requests: LoadRequest[], idReplacement = false): Row[] {
  const onBare = requests.map((request) => ({ ...request, path: '/bare' }));
  return (['bare-node-http', 'bare-nest-fastify', 'bare-nest-express'] as const).map((server) => ({
    subject: server,
    kind: 'limit',
    server,
    load: (origin) => ({ origin, requests: onBare, idReplacement }),
    expected: [200],
  }));
}

function apiRows(
  servers: { fastify: ServerKey; express: ServerKey },
  requests: LoadRequest[],
  expected: readonly number[],
  idReplacement = false,
): Row[] {
  return (['fastify', 'express'] as const).map((adapter) => ({
    subject: `api-${adapter}`,
    kind: 'redkit',
    server: servers[adapter],
    load: (origin) => ({ origin, requests, idReplacement }),
    expected,
  }));
}

const unlimited = { fastify: 'api-fastify', express: 'api-express' } as const;
const rateLimited = { fastify: 'api-fastify-rate-limited', express: 'api-express-rate-limited' } as const;

const scenarios: ScenarioDefinition[] = [
  {
    name: 'book-cached',
    rows: [...apiRows(unlimited, [get(BOOK_PATH)], [200]), ...limits([get(BOOK_PATH)])],
  },
  {
    name: 'book-uncached',
    rows: [...apiRows(unlimited, [get(`${BOOK_PATH}&fresh=true`)], [200]), ...limits([get(BOOK_PATH)])],
  },
  {
    name: 'limited-429',
    rows: [...apiRows(rateLimited, [get(BOOK_PATH)], [200, 429]), ...limits([get(BOOK_PATH)])],
  },
  {
    name: 'place-order',
    rows: [
      // 201: placed; 200 would be a duplicate clientOrderId (none is sent).
      ...apiRows(rateLimited, orderRequests(ORDERS_PATH), [201], true),
      ...limits(orderRequests(ORDERS_PATH), true),
    ],
  },
];

function specOf(server: ServerKey, redisUrl: string, body: string): ServerSpec {
  if (server === 'bare-node-http') return { kind: 'bare-node-http', body };
  if (server === 'bare-nest-fastify') return { kind: 'bare-nest', adapter: 'fastify', body };
  if (server === 'bare-nest-express') return { kind: 'bare-nest', adapter: 'express', body };
  const adapter: AdapterName = server.startsWith('api-fastify') ? 'fastify' : 'express';
  const rateLimits = server.endsWith('-rate-limited');
  return { kind: 'api', adapter, rateLimits, trustProxy: rateLimits, redisUrl };
}

// ---------------------------------------------------------------------------------------------------

function progress(message: string): void {
  process.stderr.write(`[bench app] ${message}\n`);
}

function listFromEnv(name: string): string[] | undefined {
  const items = process.env[name]
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items === undefined || items.length === 0 ? undefined : items;
}

/** The server processes running now, started on demand and stopped when no longer needed. */
class Servers {
  private readonly running = new Map<ServerKey, ServerProcess>();
  private readonly failed = new Map<ServerKey, string>();

  constructor(private readonly redisUrl: string) {}

  /** Starts the missing ones of `keys` (in parallel) and stops the API processes not among them. */
  async use(keys: readonly ServerKey[], body: string): Promise<void> {
    for (const [key, server] of this.running) {
      if (!keys.includes(key) && key.startsWith('api-')) {
        this.running.delete(key);
        await server.stop();
      }
    }
    await Promise.all(
      keys
        .filter((key) => !this.running.has(key) && !this.failed.has(key))
        .map(async (key) => {
          try {
            const server = await startServerProcess(key, specOf(key, this.redisUrl, body));
            this.running.set(key, server);
            progress(`${key} listening at ${server.url} (pid ${server.pid})`);
          } catch (error) {
            this.failed.set(key, (error as Error).message);
          }
        }),
    );
  }

  get(key: ServerKey): ServerProcess | undefined {
    return this.running.get(key);
  }

  failure(key: ServerKey): string | undefined {
    return this.failed.get(key);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((server) => server.stop()));
    this.running.clear();
  }
}

/** One request as autocannon would send it, to check a row's answer before loading it. */
async function probe(origin: string, load: Load): Promise<{ status: number; body: string }> {
  const request = load.requests[0]!;
  const headers = { ...request.headers };
  for (const [name, value] of Object.entries(headers))
    headers[name] = value.replace('[<id>]', `probe-${name}`);
  const response = await fetch(`${origin}${request.path}`, {
    method: request.method,
    headers,
    body: request.body,
  });
  return { status: response.status, body: await response.text() };
}

/** What the slices of one row add up to. */
interface Totals {
  responses: number;
  seconds: number;
  serverCpuMicros: number;
  loadgenCpuMicros: number;
  errors: number;
  bytes: number;
  statuses: Map<number, number>;
  histogram: LatencyHistogram;
  /** Redis commands the slices ran, by name (INFO commandstats around each slice). */
  redisCalls: CommandCalls;
}

function cpuMicrosHere(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * Waits until every server is idle (under 10 ms of CPU in 100 ms), at most 10 s: a request autocannon
 * abandoned at the end of a slice (an order queued behind the market's lock) is still worked on after
 * it, and that work belongs to no slice.
 */
async function settle(servers: readonly ServerProcess[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const server of servers) {
    for (;;) {
      const before = await server.cpuMicros();
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await server.cpuMicros()) - before < 10_000 || Date.now() > deadline) break;
    }
  }
}

async function measureSlice(
  admin: RedisAdmin,
  server: ServerProcess,
  load: Load,
  seconds: number,
  totals: Totals,
): Promise<void> {
  const callsBefore = await admin.commandCalls();
  const serverBefore = await server.cpuMicros();
  const loadgenBefore = cpuMicrosHere();
  const result: LoadResult = await runLoad(load, seconds, totals.histogram);
  const loadgenAfter = cpuMicrosHere();
  const serverAfter = await server.cpuMicros();
  const callsAfter = await admin.commandCalls();
  for (const [command, calls] of callsAfter) {
    const delta = calls - (callsBefore.get(command) ?? 0);
    if (delta > 0) totals.redisCalls.set(command, (totals.redisCalls.get(command) ?? 0) + delta);
  }
  totals.responses += result.responses;
  totals.seconds += result.seconds;
  totals.serverCpuMicros += serverAfter - serverBefore;
  totals.loadgenCpuMicros += loadgenAfter - loadgenBefore;
  totals.errors += result.errors;
  totals.bytes += result.bytesPerResponse * result.responses;
  for (const [status, count] of result.statuses)
    totals.statuses.set(status, (totals.statuses.get(status) ?? 0) + count);
}

const round1 = (value: number) => Math.round(value * 10) / 10;

async function main(): Promise<void> {
  const redisUrl = process.env[REDIS_URL_ENV];
  if (!redisUrl) throw new Error(`${REDIS_URL_ENV} is not set: run it with npm run bench -- app`);
  const admin = await RedisAdmin.connect(redisUrl);
  const redisVersion = await admin.version();
  await admin.flushAll();

  const seconds = defaultSeconds();
  const warmup = defaultWarmupSeconds();
  const rounds = Math.max(1, Math.min(ROUNDS, Math.floor(seconds)));
  const onlySubjects = listFromEnv('BENCH_SUBJECTS');
  const onlyScenarios = listFromEnv('BENCH_SCENARIOS');
  const cpuProfileDir = process.env.BENCH_APP_CPU_PROF || undefined;
  if (cpuProfileDir !== undefined) mkdirSync(cpuProfileDir, { recursive: true });

  const servers = new Servers(redisUrl);
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const problem = (text: string) => {
    problems.push(text);
    progress(`PROBLEM ${text}`);
  };
  let body = '';
  try {
    // The body every limit answers: the API's own cached depth-20 book, as its first process sends it.
    await servers.use(['api-fastify', 'api-express'], '');
    const bodies = new Map<string, string>();
    for (const key of ['api-fastify', 'api-express'] as const) {
      const server = servers.get(key);
      if (server === undefined) continue;
      const answer = await probe(server.url, { origin: server.url, requests: [get(BOOK_PATH)] });
      if (answer.status === 200) bodies.set(key, answer.body);
      else problem(`${key}: GET ${BOOK_PATH} answered ${answer.status}: ${answer.body.slice(0, 400)}`);
    }
    body = bodies.get('api-fastify') ?? bodies.get('api-express') ?? '';
    if (body === '') throw new Error(`no API process answered the book: ${problems.join('; ')}`);
    if (bodies.size === 2 && bodies.get('api-fastify') !== bodies.get('api-express')) {
      problem(
        `the cached book differs between Fastify (${bodies.get('api-fastify')!.length} bytes) and Express ` +
          `(${bodies.get('api-express')!.length} bytes)`,
      );
    }
    progress(`the book body is ${Buffer.byteLength(body)} bytes; ${warmup} s warm-up + ${seconds} s per row`);

    for (const scenario of scenarios) {
      if (onlyScenarios !== undefined && !onlyScenarios.includes(scenario.name)) continue;
      const selected = scenario.rows.filter(
        (row) => onlySubjects === undefined || onlySubjects.includes(row.subject),
      );
      await servers.use([...new Set(selected.map((row) => row.server))], body);
      const ready: { row: Row; server: ServerProcess; load: Load }[] = [];
      for (const row of selected) {
        const server = servers.get(row.server);
        if (server === undefined) {
          problem(`${scenario.name} / ${row.subject}: ${servers.failure(row.server) ?? 'not started'}`);
          continue;
        }
        const load = row.load(server.url);
        const answer = await probe(server.url, load).catch((error: unknown) => ({
          status: 0,
          body: String(error),
        }));
        if (!row.expected.includes(answer.status)) {
          problem(
            `${scenario.name} / ${row.subject}: ${load.requests[0]!.method} ${load.requests[0]!.path} answered ` +
              `${answer.status}: ${answer.body.slice(0, 400)}`,
          );
          continue;
        }
        ready.push({ row, server, load });
      }
      progress(`${scenario.name}: ${ready.map(({ row }) => row.subject).join(' / ')}`);
      const profiled = cpuProfileDir === undefined ? [] : ready;
      for (const { server } of profiled) await server.profile({ type: 'profile-start' });
      const warmedUp: number[] = [];
      for (const { load } of ready) warmedUp.push(warmup > 0 ? (await runLoad(load, warmup)).responses : 0);
      const totals = ready.map((): Totals => ({
        responses: 0,
        seconds: 0,
        serverCpuMicros: 0,
        loadgenCpuMicros: 0,
        errors: 0,
        bytes: 0,
        statuses: new Map(),
        histogram: new LatencyHistogram(),
        redisCalls: new Map(),
      }));
      for (let round = 0; round < rounds; round += 1) {
        for (const [index, { server, load }] of ready.entries()) {
          await settle(ready.map((entry) => entry.server));
          await measureSlice(admin, server, load, seconds / rounds, totals[index]!);
        }
      }
      for (const [index, { row, server }] of profiled.entries()) {
        const file = join(cpuProfileDir!, `${row.subject}.${scenario.name}.cpuprofile`);
        await server.profile({ type: 'profile-stop', file });
        const responses = warmedUp[index]! + totals[index]!.responses;
        progress(
          `profile of ${row.subject} over ${responses} responses: ` +
            `node --import ./bench/lib/register.mjs bench/app/profile-summary.ts ${file} ${responses}`,
        );
      }
      const scenarioRows: ResultRow[] = [];
      for (const [index, { row }] of ready.entries()) {
        const total = totals[index]!;
        const ok = [...total.statuses].filter(([status]) => status >= 200 && status < 300);
        const unexpected = [...total.statuses].filter(([status]) => !row.expected.includes(status));
        const result: ResultRow = {
          scenario: scenario.name,
          subject: row.subject,
          kind: row.kind,
          opsPerSec: Math.round(total.responses / total.seconds),
          p50us: round1(total.histogram.percentile(50) / 1000),
          p99us: round1(total.histogram.percentile(99) / 1000),
          serverCpuUsPerRequest: round1(total.serverCpuMicros / total.responses),
          loadgenCpuUsPerRequest: round1(total.loadgenCpuMicros / total.responses),
          non2xx: total.responses - ok.reduce((sum, [, count]) => sum + count, 0),
          statuses: Object.fromEntries([...total.statuses].sort(([a], [b]) => a - b)),
          bytesPerResponse: Math.round(total.bytes / total.responses),
        };
        const commands = callsPerOp(new Map(), total.redisCalls, total.responses);
        result.redisCmdsPerOp =
          Math.round(Object.values(commands).reduce((sum, calls) => sum + calls, 0) * 100) / 100;
        result.redisCommands = commands;
        if (row.server.startsWith('api-'))
          result.rateLimits = row.server.endsWith('-rate-limited') ? 'on' : 'off';
        if (total.errors > 0) result.errors = total.errors;
        if (unexpected.length > 0 || total.errors > 0) {
          problem(
            `${scenario.name} / ${row.subject}: ${unexpected.map(([status, count]) => `${count} × ${status}`).join(', ') || 'no unexpected status'}` +
              `, ${total.errors} connection errors/timeouts`,
          );
        }
        scenarioRows.push(result);
        progress(
          `${row.subject.padEnd(18)} ${scenario.name.padEnd(13)} ${result.opsPerSec.toLocaleString('en-US').padStart(7)} req/s` +
            `  p50 ${result.p50us} µs  p99 ${result.p99us} µs  API CPU ${String(result.serverCpuUsPerRequest)} µs/req` +
            (result.non2xx === 0 ? '' : `  non-2xx ${String(result.non2xx)}`),
        );
      }
      const limit = scenarioRows.find((row) => row.subject === LIMIT_SUBJECT);
      for (const row of scenarioRows) {
        if (limit !== undefined && row !== limit) {
          row.vsBareNestFastify = Math.round((row.opsPerSec / limit.opsPerSec) * 100) / 100;
          row.cpuVsBareNestFastify =
            Math.round(
              ((limit.serverCpuUsPerRequest as number) / (row.serverCpuUsPerRequest as number)) * 100,
            ) / 100;
        }
      }
      rows.push(...scenarioRows);
    }
  } finally {
    await servers.stopAll();
    await admin.close();
  }

  const results = {
    module: 'app',
    date: new Date().toISOString(),
    node: process.version,
    redis: redisVersion,
    inFlight: DEFAULT_IN_FLIGHT,
    rows,
  };
  const file = await writeResults(results);
  const table = markdownTable(rows, [
    { key: 'vsBareNestFastify', title: 'vs bare-nest-fastify' },
    { key: 'serverCpuUsPerRequest', title: 'API CPU µs/req' },
    { key: 'cpuVsBareNestFastify', title: 'CPU vs bare-nest-fastify' },
    { key: 'loadgenCpuUsPerRequest', title: 'loadgen CPU µs/req' },
    { key: 'redisCmdsPerOp', title: 'redis cmds/req' },
    { key: 'non2xx', title: 'non-2xx' },
    { key: 'bytesPerResponse', title: 'bytes/resp' },
  ]);
  process.stdout.write(
    [
      '## app',
      '',
      `node ${results.node}, redis ${redisVersion}, autocannon ${DEFAULT_IN_FLIGHT} connections, ${warmup} s warm-up + ` +
        `${seconds} s per row in ${rounds} alternating slices, ${results.date}`,
      '',
      table,
      '',
      ...targetLines(rows),
      `- book-cached, book-uncached: rate limits off. limited-429: rate limits on, one client (all 64 connections ` +
        `from 127.0.0.1) over its 100 reads/s. place-order: rate limits and TRUST_PROXY on, every request its own ` +
        `X-Forwarded-For (never over the 10 writes/s), buys at 64001 and sells at 63999 of 0.01 alternating. ` +
        `BTC-USD seeded with ${SEEDED_LEVELS} levels per side.`,
      '- Limits answer the API\'s cached depth-20 book on GET and POST /bare. "vs bare-nest-fastify": req/s ratio; ' +
        '"CPU vs bare-nest-fastify": its API CPU µs/req over the row\'s (the capacity ratio on a core of its own, ' +
        'which the shared machine disturbs least). "vs limit": over the fastest limit row.',
      ...problems.map((problem) => `- **${problem}**`),
      '',
    ].join('\n'),
  );
  progress(`wrote ${file}`);
  if (problems.length > 0) process.exitCode = 1;
}

/** The targets the API rows are held to (shown, not asserted). */
function targetLines(rows: readonly ResultRow[]): string[] {
  const find = (scenario: ScenarioName, subject: string) =>
    rows.find((row) => row.scenario === scenario && row.subject === subject);
  const lines: string[] = [];
  const check = (scenario: ScenarioName, minimum: number, maxP99Ms?: number) => {
    for (const subject of ['api-fastify', 'api-express']) {
      const row = find(scenario, subject);
      if (row === undefined || typeof row.vsBareNestFastify !== 'number') continue;
      const ratioMet = row.vsBareNestFastify >= minimum;
      const p99Ms = row.p99us / 1000;
      const p99Met = maxP99Ms === undefined || p99Ms <= maxP99Ms;
      lines.push(
        `- ${scenario}, ${subject}: ${row.vsBareNestFastify.toFixed(2)}× bare-nest-fastify req/s (target ≥ ${minimum}×` +
          (maxP99Ms === undefined ? '' : `, p99 ${p99Ms.toFixed(1)} ms, target ≤ ${maxP99Ms} ms`) +
          `; CPU ${String(row.cpuVsBareNestFastify)}×): ${ratioMet && p99Met ? 'met' : 'MISSED'}`,
      );
    }
  };
  check('book-cached', 0.8, 10);
  check('limited-429', 0.6);
  check('book-uncached', 0.5);
  return lines.length === 0
    ? []
    : ['Targets (Fastify is the one held to them; Express shown for reference):', '', ...lines, ''];
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
