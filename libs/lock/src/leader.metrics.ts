import type { MetricsService } from '@redkit/metrics';

/**
 * redkit_leader_* metrics. The `election` label is the election's name: a handful per app, chosen in
 * code, never per entity.
 */
export interface LeaderMetrics {
  /** Sets `redkit_leader{election}` and counts the transition. */
  leading(election: string, leader: boolean): void;
  renewed(election: string, seconds: number): void;
  campaignFailed(election: string): void;
}

const RENEW_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The metrics, or no-ops when the app has no `MetricsService`. */
export function createLeaderMetrics(metrics: MetricsService | undefined): LeaderMetrics {
  if (metrics === undefined) return { leading() {}, renewed() {}, campaignFailed() {} };
  const gauge = metrics.gauge({
    name: 'redkit_leader',
    help: '1 while this instance leads the election, else 0.',
    labelNames: ['election'],
  });
  const transitions = metrics.counter({
    name: 'redkit_leader_transitions_total',
    help: 'Times this instance became leader (to="leader") or stopped leading (to="follower").',
    labelNames: ['election', 'to'],
  });
  const renewals = metrics.histogram({
    name: 'redkit_leader_renew_seconds',
    help: "Round trip of the leader's lease renewals.",
    labelNames: ['election'],
    buckets: RENEW_BUCKETS,
  });
  const failures = metrics.counter({
    name: 'redkit_leader_campaign_errors_total',
    help: 'Campaigns that could not reach Redis.',
    labelNames: ['election'],
  });
  const state = new Map<string, boolean>();
  return {
    leading(election, leader) {
      gauge.set({ election }, leader ? 1 : 0);
      const before = state.get(election);
      state.set(election, leader);
      if (before !== undefined && before !== leader)
        transitions.inc({ election, to: leader ? 'leader' : 'follower' });
      else if (before === undefined && leader) transitions.inc({ election, to: 'leader' });
    },
    renewed(election, seconds) {
      renewals.observe({ election }, seconds);
    },
    campaignFailed(election) {
      failures.inc({ election });
    },
  };
}
