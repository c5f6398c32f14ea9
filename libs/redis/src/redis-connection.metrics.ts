import { MetricsService } from '@redkit/metrics';

import type { RedisConnection } from './redis-connection.js';

/**
 * Publishes a connection's state: `redkit_redis_connection_ready{connection}` (1 ready, 0 not),
 * `redkit_redis_connection_down_total{connection}` (how many times it went down; both also for
 * `<connection>:replica`, the replica-reading client, once a module uses it),
 * `redkit_redis_failovers_total{connection}` (how many times its primary changed: Sentinel, Cluster)
 * and, with rotating credentials, `redkit_redis_credential_renewals_total{connection,outcome}`. Without
 * MetricsModule in the app the metrics live in a private registry and cost next to nothing.
 */
export function publishConnectionMetrics(
  connection: RedisConnection,
  metrics: MetricsService = new MetricsService(),
): void {
  const ready = metrics.gauge({
    name: 'redkit_redis_connection_ready',
    help: 'Whether the named Redis connection is ready (1) or not (0).',
    labelNames: ['connection'],
  });
  const down = metrics.counter({
    name: 'redkit_redis_connection_down_total',
    help: 'How many times the named Redis connection went down.',
    labelNames: ['connection'],
  });
  const renewals = metrics.counter({
    name: 'redkit_redis_credential_renewals_total',
    help: 'Re-authentications of live connections with rotated credentials, by outcome (renewed, failed).',
    labelNames: ['connection', 'outcome'],
  });
  const failovers = metrics.counter({
    name: 'redkit_redis_failovers_total',
    help: 'Failovers the named Redis connection went through: its primary (a Cluster master) was replaced.',
    labelNames: ['connection'],
  });
  const labels = { connection: connection.name };
  failovers.inc(labels, 0);
  connection.onFailover(() => failovers.inc(labels));
  connection.onCredentialRenewal((outcome) => renewals.inc({ ...labels, outcome }));
  ready.set(labels, connection.state.status === 'ready' ? 1 : 0);
  down.inc(labels, 0);
  connection.onStateChange((state) => {
    ready.set(labels, state.status === 'ready' ? 1 : 0);
    if (state.status === 'down') down.inc(labels);
  });
  // The replica-reading client, once a module asked for it, as connection `<name>:replica`.
  const replica = { connection: `${connection.name}:replica` };
  connection.onReplicaStateChange((state) => {
    ready.set(replica, state.status === 'ready' ? 1 : 0);
    if (state.status === 'down') down.inc(replica);
  });
}
