// Issue 19, item 5: what each module keeps through SIGKILLed Cluster masters replaced by their replicas, under load.
import { describe, expect, it } from '@jest/globals';

import { expectGuaranteesKept, recordFailoverReport, workloadOf } from './failover-assertions.js';
import { runModulesUnderFailover } from './modules-under-failover.js';

const KILLS = 2;

describe('every module on a Cluster (3 masters, 1 replica each) through SIGKILLed masters', () => {
  it(`recovers from ${KILLS} failovers of the master holding every key under load, durable modes losing nothing`, async () => {
    const report = await runModulesUnderFailover({ topology: 'cluster', kills: KILLS });
    recordFailoverReport(report);
    expectGuaranteesKept(report);
    expect(workloadOf(report, 'streams', 'default').measured.handled).toBeGreaterThan(0);
  }, 120_000);
});
