import { appendFileSync } from 'node:fs';

import { expect } from '@jest/globals';

import type { FailoverReport, WorkloadReport } from './modules-under-failover.js';
import type { Mode, ModuleName } from './workloads.js';

/** The report of one module in one mode; fails the test when the run did not include it. */
export function workloadOf(report: FailoverReport, module: ModuleName, mode: Mode): WorkloadReport {
  const found = report.workloads.find((workload) => workload.module === module && workload.mode === mode);
  if (found === undefined) throw new Error(`no ${module} (${mode}) workload in the report`);
  return found;
}

/**
 * What every failover spec asserts of a run: each workload recovered after each failover, none hung,
 * nothing went unhandled, and the guarantees hold (what default mode loses is measured, not asserted).
 */
export function expectGuaranteesKept(report: FailoverReport): void {
  expect(report.failovers).toHaveLength(report.kills);
  expect(report.unhandledRejections).toEqual([]);
  for (const workload of report.workloads) {
    const label = `${workload.module} (${workload.mode})`;
    expect({ label, recoveries: workload.recoveryMs.length }).toEqual({ label, recoveries: report.kills });
    expect({ label, hung: workload.longestCallMs > workload.callBoundMs }).toEqual({ label, hung: false });
  }
  const measured = (module: ModuleName, mode: Mode) => workloadOf(report, module, mode).measured;
  expect(measured('cache', 'default').staleReadsAfterRecovery).toBe(0);
  for (const mode of ['default', 'durable'] as const) {
    expect(measured('lock', mode).fencingRegressions).toBe(0);
  }
  expect(measured('lock', 'durable').doubleGrants).toBe(0);
  expect(measured('orderbook', 'durable').rollbacks).toBe(0);
  expect(measured('streams', 'durable').lost).toBe(0);
  expect(measured('limiter', 'durable').overAdmissions).toBe(0);
}

/**
 * Appends a run's report to the file REDKIT_FAILOVER_RESULTS names, as one JSON line, so what a spec
 * measured can be read after a green (quiet) run; without it nothing is written.
 */
export function recordFailoverReport(report: FailoverReport): void {
  const file = process.env.REDKIT_FAILOVER_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), ...report })}\n`);
}
