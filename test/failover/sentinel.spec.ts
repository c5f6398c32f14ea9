// Issue 19, item 5: what each module keeps through SIGKILLed primaries that Sentinel replaces, under load.
import { afterAll, describe, expect, it } from '@jest/globals';

import { sleep } from '../harness/test-keys.js';

import { expectGuaranteesKept, recordFailoverReport, workloadOf } from './failover-assertions.js';
import { runModulesUnderFailover } from './modules-under-failover.js';

const KILLS = 2;

describe('every module on Sentinel (primary, 1 replica, 3 Sentinels) through SIGKILLed primaries', () => {
  // After a failover, ioredis's failover detector closes its Sentinel connections twice; the second
  // close arms its 2 s disconnect timer on sockets already closed (as in test/redis/failover-sentinel.spec.ts).
  afterAll(() => sleep(2_000));

  it(`recovers from ${KILLS} failovers under load in both modes, durable modes losing nothing`, async () => {
    const report = await runModulesUnderFailover({ topology: 'sentinel', kills: KILLS });
    recordFailoverReport(report);
    expectGuaranteesKept(report);
    // The group resumed on each new primary: entries were handled after every failover.
    expect(workloadOf(report, 'streams', 'default').measured.handled).toBeGreaterThan(0);
  }, 120_000);
});
