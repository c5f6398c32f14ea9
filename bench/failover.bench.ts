// Failover benchmark (issue 19, item 5): what each module keeps when the node holding its keys is
// SIGKILLed and a replica promoted, under load, default mode against durable mode
// (`durability: { replicas: 1 }`). Run it with `npm run bench -- failover`.
//
// FAILOVER_KILLS (default 50) failovers per topology; FAILOVER_TOPOLOGIES (default `sentinel,cluster`).
// Each topology is started here (test/harness: a primary with 1 replica and 3 Sentinels; a Cluster of 3
// masters with 1 replica each): the suite's single server (BENCH_REDIS_URL) is not used. The workloads
// and what they count are test/failover/workloads.ts; the driver, shared with the failover specs, is
// test/failover/modules-under-failover.ts.
//
// Prints a markdown table (module, what is measured, topology, default, durable, recovery p50/p99 in
// ms from the SIGKILL until that workload succeeded again) and writes bench/results/failover.json.
import 'reflect-metadata';

import { mkdir, writeFile } from 'node:fs/promises';

import { percentile } from '../test/redis/failover-load.js';
import { runModulesUnderFailover, type FailoverReport } from '../test/failover/modules-under-failover.js';
import type { TopologyName } from '../test/failover/failover-topology.js';
import type { Mode, ModuleName } from '../test/failover/workloads.js';

const kills = Number(process.env.FAILOVER_KILLS ?? 50);
if (!Number.isInteger(kills) || kills < 1)
  throw new Error(`FAILOVER_KILLS must be a whole number >= 1, got ${kills}`);
const topologies = (process.env.FAILOVER_TOPOLOGIES ?? 'sentinel,cluster').split(',') as TopologyName[];
for (const topology of topologies) {
  if (topology !== 'sentinel' && topology !== 'cluster')
    throw new Error(`FAILOVER_TOPOLOGIES: unknown topology ${String(topology)}`);
}

/** Each module's row: what it measures, and how one mode's numbers read. */
const ROWS: Array<{
  module: ModuleName;
  measures: string;
  cell: (measured: Record<string, number>) => string;
}> = [
  {
    module: 'lock',
    measures:
      '16 contenders, one lock: double grants (fencing regressions; grants inside a lease whose release failed)',
    cell: (m) => `${m.doubleGrants} (${m.fencingRegressions}; ${m.leasesRegranted})`,
  },
  {
    module: 'limiter',
    measures: '50 per 2 s sliding log, hammered: admissions over the limit (admissions)',
    cell: (m) => `${m.overAdmissions} (${m.admissions})`,
  },
  {
    module: 'streams',
    measures: 'acknowledged entries lost (acknowledged); the group resumed after every failover',
    cell: (m) => `${m.lost} (${m.acknowledged})`,
  },
  {
    module: 'orderbook',
    measures: 'failovers that rolled back acknowledged deltas (deltas rolled back; re-snapshots)',
    cell: (m) => `${m.rollbacks} (${m.acknowledgedLost}; ${m.snapshots - 1})`,
  },
  {
    module: 'cache',
    measures: 'stale reads after recovery (stale while the reader resubscribed; L1 flushes)',
    cell: (m) => `${m.staleReadsAfterRecovery} (${m.staleReadsWhileRecovering}; ${m.l1Flushes})`,
  },
];

function recovery(report: FailoverReport, module: ModuleName, mode: Mode): string {
  const samples = report.workloads.find((w) => w.module === module && w.mode === mode)?.recoveryMs ?? [];
  if (samples.length === 0) return '—';
  return `${Math.round(percentile(samples, 0.5))}/${Math.round(percentile(samples, 0.99))}`;
}

const reports: FailoverReport[] = [];
for (const topology of topologies) {
  const started = Date.now();
  process.stderr.write(`failover: ${topology}, ${kills} kills\n`);
  const report = await runModulesUnderFailover({
    topology,
    kills,
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  process.stderr.write(`failover: ${topology} done in ${Math.round((Date.now() - started) / 1000)} s\n`);
  reports.push(report);
}

const lines = [
  '| module | what is measured | topology | default | durable | recovery p50/p99 ms (default / durable) |',
  '|---|---|---|---|---|---|',
];
for (const row of ROWS) {
  for (const report of reports) {
    const of = (mode: Mode) => report.workloads.find((w) => w.module === row.module && w.mode === mode);
    const durable = of('durable');
    lines.push(
      `| ${row.module} | ${row.measures} | ${report.topology} (${report.kills} kills) | ${row.cell(
        of('default')?.measured ?? {},
      )} | ${durable ? row.cell(durable.measured) : 'n/a'} | ${recovery(report, row.module, 'default')} / ${
        durable ? recovery(report, row.module, 'durable') : '—'
      } |`,
    );
  }
}
process.stdout.write(`\n## failover\n\n${lines.join('\n')}\n`);
const unhandled = reports.flatMap((report) => report.unhandledRejections);
if (unhandled.length > 0) process.stdout.write(`\nunhandled rejections: ${unhandled.join('; ')}\n`);

await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('./results/failover.json', import.meta.url),
  `${JSON.stringify({ module: 'failover', date: new Date().toISOString(), node: process.version, reports }, null, 2)}\n`,
);
