// Runs one module's benchmark: every subject (redkit, peers, limits) through every scenario that
// applies to it, on the Redis that scripts/bench.mjs started for this module, then prints the table
// and writes bench/results/<module>.json.
//
// For each subject in turn: FLUSHALL (every subject starts from an empty server), create it, and
// for each scenario: prepare (preload data), garbage-collect, measure (warm-up, then the measured
// window, with INFO commandstats snapshots around it), close the subject. Subjects run one after the
// other, never side by side, so they do not compete for the CPU or the server.
//
// A module's bench file only declares its subjects and scenarios and calls runSuite().
import { callsPerOp, RedisAdmin } from './redis-admin.js';
import { DEFAULT_IN_FLIGHT, defaultSeconds, defaultWarmupSeconds, measure } from './measure.js';
import type { Measurement, Operation } from './measure.js';
import { markdownTable, writeResults } from './report.js';
import type { ExtraColumn, Kind, ResultRow } from './report.js';

/** The URL of the throwaway server scripts/bench.mjs starts for the module. */
export const REDIS_URL_ENV = 'BENCH_REDIS_URL';

export interface Closeable {
  /** Closes every connection and timer the subject opened, so the process can exit by itself. */
  close(): Promise<void>;
}

export interface SubjectDefinition<S extends Closeable> {
  name: string;
  kind: Kind;
  /** Creates the subject on the run's Redis, or returns null to skip it (the table notes why). */
  create(redisUrl: string): Promise<S | null>;
  /** Printed under the table when create() returns null. */
  skipReason?: string;
  /** Set by {@link atTheirBest}: the library the row measures, and on which kind of client. */
  family?: string;
  client?: ClientMode;
}

/** How a peer's ioredis client is configured: as the library's docs leave it, or auto-pipelined. */
export type ClientMode = 'plain' | 'auto-pipelined';

/** The ioredis options of a client mode (the rest stays at ioredis's defaults). */
export function clientOptions(mode: ClientMode): { enableAutoPipelining: boolean } {
  return { enableAutoPipelining: mode === 'auto-pipelined' };
}

/**
 * A peer (or a raw limit) measured at its best: one subject on a plain ioredis client and one on an
 * auto-pipelined client, otherwise as the library documents it. Both rows are printed; the faster
 * one per scenario is marked best, and the ratios under the table use it. redkit's subjects keep
 * redkit's own defaults and are declared directly.
 */
export function atTheirBest<S extends Closeable>(peer: {
  name: string;
  kind: Exclude<Kind, 'redkit'>;
  create(redisUrl: string, client: ClientMode): Promise<S | null>;
  skipReason?: string;
}): SubjectDefinition<S>[] {
  return (['plain', 'auto-pipelined'] as const).map((client) => ({
    name: `${peer.name} [${client === 'plain' ? 'plain' : 'auto-pipe'}]`,
    kind: peer.kind,
    family: peer.name,
    client,
    skipReason: peer.skipReason,
    create: (redisUrl: string) => peer.create(redisUrl, client),
  }));
}

/** What one row measures, as a scenario prepares it for one subject. */
export interface Workload {
  op: Operation;
  /** Operations in flight when not the module default; recorded on the row. */
  inFlight?: number;
  /** Called after the warm-up, right before the measured window (reset counters here). */
  reset?(): void;
  /** Extra row fields, computed once the measured window is over. */
  extras?(measurement: Measurement): Record<string, unknown>;
  /** Closes what prepare() opened for this row only (a differently configured instance). */
  dispose?(): Promise<void>;
}

export interface Scenario<S extends Closeable> {
  name: string;
  /** Sets the subject up for this scenario and returns what to measure, or null if it does not apply. */
  prepare(subject: S, definition: SubjectDefinition<S>): Promise<Workload | null>;
}

export interface Suite<S extends Closeable> {
  module: string;
  scenarios: readonly Scenario<S>[];
  subjects: readonly SubjectDefinition<S>[];
  /** Row fields shown as table columns, after ops/s, latencies, vs limit and redis cmds/op. */
  extraColumns?: readonly ExtraColumn[];
  /** Lines printed under the table: what each scenario does, how subjects are configured. */
  notes?: readonly string[];
}

export async function runSuite<S extends Closeable>(suite: Suite<S>): Promise<void> {
  const redisUrl = process.env[REDIS_URL_ENV];
  if (!redisUrl) {
    throw new Error(`${REDIS_URL_ENV} is not set: run this through \`npm run bench -- ${suite.module}\``);
  }
  // The bench flushes its server, so it never even connects to 6379 (someone's real Redis).
  if (Number(new URL(redisUrl).port || 6379) === 6379) {
    throw new Error(
      `refusing to run on ${redisUrl}: the benchmark flushes its server; run it through npm run bench`,
    );
  }
  const admin = await RedisAdmin.connect(redisUrl);
  let failed = false;
  try {
    await refuseNonEmptyServer(admin, redisUrl);
    const redisVersion = await admin.version();
    const seconds = defaultSeconds();
    const warmupSeconds = defaultWarmupSeconds();
    progress(
      suite.module,
      `redis ${redisVersion} at ${redisUrl}; ${warmupSeconds} s warm-up + ${seconds} s per row`,
    );

    const rows: ResultRow[] = [];
    const problems: string[] = [];
    // The first row of a run came out 20-30 % below an identical later one (the lock bench's redkit
    // and redkit-no-local-handoff rows, the same code when uncontended) despite its own warm-up, so
    // the first row is measured twice and its first measurement discarded.
    let processWarmedUp = false;
    const only = filters();
    for (const definition of suite.subjects) {
      if (!only.subject(definition)) continue;
      await admin.flushAll();
      let subject: S | null;
      try {
        subject = await definition.create(redisUrl);
      } catch (error) {
        failed = true;
        problems.push(`${definition.name}: could not be created: ${describe(error)}`);
        continue;
      }
      if (subject === null) {
        problems.push(`${definition.name}: skipped — ${definition.skipReason ?? 'not available'}`);
        continue;
      }
      try {
        for (const scenario of suite.scenarios) {
          if (!only.scenario(scenario.name)) continue;
          const measureRow = () =>
            runRow(suite.module, admin, scenario, subject, definition, seconds, warmupSeconds);
          let row = await measureRow();
          if (row && !processWarmedUp) {
            processWarmedUp = true;
            progress(
              suite.module,
              '(that first row only warmed the process and server up: measuring it again)',
            );
            row = await measureRow();
          }
          if (!row) continue;
          rows.push(row);
          if (typeof row.errors === 'number') {
            failed = true;
            problems.push(
              `${definition.name} / ${scenario.name}: ${row.errors} operations failed: ${row.firstError}`,
            );
            delete row.firstError;
          }
        }
      } catch (error) {
        failed = true;
        problems.push(`${definition.name}: failed: ${describe(error)}`);
      } finally {
        await subject.close();
      }
    }

    const scenarioOrder = suite.scenarios.map((scenario) => scenario.name);
    const subjectOrder = suite.subjects.map((subject) => subject.name);
    rows.sort(
      (a, b) =>
        scenarioOrder.indexOf(a.scenario) - scenarioOrder.indexOf(b.scenario) ||
        subjectOrder.indexOf(a.subject) - subjectOrder.indexOf(b.subject),
    );
    markBestClients(rows);
    const columns = [
      { key: 'best', title: 'best' },
      { key: 'redisCmdsPerOp', title: 'redis cmds/op' },
      ...(suite.extraColumns ?? []),
    ];
    const results = {
      module: suite.module,
      date: new Date().toISOString(),
      node: process.version,
      redis: redisVersion,
      inFlight: DEFAULT_IN_FLIGHT,
      rows,
    };
    const output = [
      `## ${suite.module}`,
      '',
      `node ${results.node}, redis ${redisVersion}, ${DEFAULT_IN_FLIGHT} in flight unless the row says otherwise, ` +
        `${warmupSeconds} s warm-up + ${seconds} s per row, ${results.date}`,
      '',
      markdownTable(rows, columns),
      '',
      ...ratioLines(rows),
      ...(suite.notes ?? []).map((note) => `- ${note}`),
      ...problems.map((problem) => `- **${problem}**`),
      '',
    ];
    process.stdout.write(output.join('\n'));
    progress(suite.module, `wrote ${await writeResults(results)}`);
  } finally {
    await admin.close();
  }
  if (failed) process.exitCode = 1;
  reportLingeringHandles(suite.module);
}

async function runRow<S extends Closeable>(
  module: string,
  admin: RedisAdmin,
  scenario: Scenario<S>,
  subject: S,
  definition: SubjectDefinition<S>,
  seconds: number,
  warmupSeconds: number,
): Promise<ResultRow | null> {
  const workload = await scenario.prepare(subject, definition);
  if (!workload) return null;
  try {
    return await measureWorkload(module, admin, scenario, definition, workload, seconds, warmupSeconds);
  } finally {
    await workload.dispose?.();
  }
}

async function measureWorkload<S extends Closeable>(
  module: string,
  admin: RedisAdmin,
  scenario: Scenario<S>,
  definition: SubjectDefinition<S>,
  workload: Workload,
  seconds: number,
  warmupSeconds: number,
): Promise<ResultRow> {
  collectGarbage();
  let before = new Map<string, number>();
  const measurement = await measure(workload.op, {
    inFlight: workload.inFlight,
    seconds,
    warmupSeconds,
    onMeasureStart: async () => {
      workload.reset?.();
      before = await admin.commandCalls();
    },
  });
  const commands = callsPerOp(before, await admin.commandCalls(), measurement.ops + measurement.errors);
  const row: ResultRow = {
    scenario: scenario.name,
    subject: definition.name,
    kind: definition.kind,
    ...(definition.family === undefined ? {} : { family: definition.family, client: definition.client }),
    opsPerSec: measurement.opsPerSec,
    p50us: measurement.p50us,
    p99us: measurement.p99us,
    redisCmdsPerOp: Math.round(Object.values(commands).reduce((sum, calls) => sum + calls, 0) * 100) / 100,
    redisCommands: commands,
  };
  if (workload.inFlight !== undefined && workload.inFlight !== DEFAULT_IN_FLIGHT)
    row.inFlight = workload.inFlight;
  Object.assign(row, workload.extras?.(measurement));
  if (measurement.errors > 0) {
    row.errors = measurement.errors;
    row.firstError = describe(measurement.firstError);
  }
  progress(
    module,
    `${definition.name.padEnd(16)} ${scenario.name.padEnd(10)} ${row.opsPerSec.toLocaleString('en-US').padStart(11)} ops/s` +
      `  p50 ${row.p50us} µs  p99 ${row.p99us} µs  ${row.redisCmdsPerOp} cmds/op` +
      (measurement.errors > 0 ? `  ${measurement.errors} ERRORS` : ''),
  );
  return row;
}

/** The benchmark flushes its server, so it refuses one that already holds data: it is not the fresh one. */
async function refuseNonEmptyServer(admin: RedisAdmin, redisUrl: string): Promise<void> {
  const keys = await admin.keyCount();
  if (keys > 0) {
    throw new Error(
      `refusing to run on ${redisUrl}: it holds ${keys} keys and the benchmark flushes its server; ` +
        'it only runs on the fresh one scripts/bench.mjs starts',
    );
  }
}

/** A full GC between rows (node runs with --expose-gc under scripts/bench.mjs), so one row's garbage is not the next one's pause. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function progress(module: string, message: string): void {
  process.stderr.write(`[bench ${module}] ${message}\n`);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Every subject closes its connections, so the process should now exit by itself. If something still
 * holds the event loop five seconds later, name it and exit non-zero rather than hang the runner.
 */
function reportLingeringHandles(module: string): void {
  setTimeout(() => {
    // One of the Timeouts listed is this one.
    const resources = process.getActiveResourcesInfo();
    progress(
      module,
      `still running 5 s after finishing; open: ${resources.join(', ')} — a subject did not close`,
    );
    process.exit(1);
  }, 5_000).unref();
}

/**
 * BENCH_SUBJECTS and BENCH_SCENARIOS (comma-separated names) narrow a run to those rows, for quick
 * iterations on one comparison; unset, every row runs.
 */
function filters(): {
  subject(definition: { name: string; family?: string }): boolean;
  scenario(name: string): boolean;
} {
  const list = (name: string) =>
    process.env[name]
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const subjects = list('BENCH_SUBJECTS');
  const scenarios = list('BENCH_SCENARIOS');
  return {
    subject: ({ name, family }) =>
      subjects === undefined ||
      subjects.length === 0 ||
      subjects.includes(name) ||
      (family !== undefined && subjects.includes(family)),
    scenario: (name) => scenarios === undefined || scenarios.length === 0 || scenarios.includes(name),
  };
}

/** Marks, per scenario and library measured on both clients, the faster row as `best: '★'`. */
function markBestClients(rows: ResultRow[]): void {
  const best = new Map<string, ResultRow>();
  for (const row of rows) {
    if (typeof row.family !== 'string') continue;
    const key = `${row.scenario}\u0000${row.family}`;
    const current = best.get(key);
    if (current === undefined || row.opsPerSec > current.opsPerSec) best.set(key, row);
  }
  for (const row of best.values()) row.best = '★';
}

/**
 * Under the table: each redkit row against each peer's best row of the same scenario (the faster of
 * its plain and auto-pipelined clients), so the ratios a reader quotes never use a handicapped peer.
 */
function ratioLines(rows: readonly ResultRow[]): string[] {
  const lines: string[] = [];
  const scenarios = [...new Set(rows.map((row) => row.scenario))];
  for (const scenario of scenarios) {
    const ofScenario = rows.filter((row) => row.scenario === scenario);
    const peers = ofScenario.filter((row) => row.kind === 'peer' && (row.family === undefined || row.best));
    if (peers.length === 0) continue;
    for (const ours of ofScenario.filter((row) => row.kind === 'redkit')) {
      const ratios = peers.map(
        (peer) =>
          `${(ours.opsPerSec / peer.opsPerSec).toFixed(2)}× ${String(peer.family ?? peer.subject)}` +
          (peer.client === undefined ? '' : ` (${String(peer.client)})`),
      );
      lines.push(`- ${scenario}, ${ours.subject}: ${ratios.join(', ')}`);
    }
  }
  return lines.length === 0 ? [] : ["redkit ÷ each peer's best row:", '', ...lines, ''];
}
