import { MetricsService } from '@redkit/metrics';

import type { RedisConnection } from './redis-connection.js';

/**
 * Publishes a connection's state: `redkit_redis_connection_ready{connection}` (1 ready, 0 not) and
 * `redkit_redis_connection_down_total{connection}` (how many times it went down). Without
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
  const labels = { connection: connection.name };
  ready.set(labels, connection.state.status === 'ready' ? 1 : 0);
  down.inc(labels, 0);
  connection.onStateChange((state) => {
    ready.set(labels, state.status === 'ready' ? 1 : 0);
    if (state.status === 'down') down.inc(labels);
  });
}
