/** Injection token of the options object given to `MetricsModule.forRoot` / `forRootAsync`. */
export const METRICS_MODULE_OPTIONS = 'REDKIT:METRICS_MODULE_OPTIONS';

/**
 * What every metric created through `MetricsService` must be called: `redkit_` followed by lower-case
 * letters, digits and underscores. By convention `redkit_<module>_<what>_<unit>`, with `_total` on
 * counters, e.g. `redkit_cache_hits_total`, `redkit_lock_acquire_duration_seconds`.
 */
export const REDKIT_METRIC_NAME = /^redkit_[a-z0-9_]+$/;

/**
 * Histogram buckets, in seconds, for the latency of one Redis command or script: 100 µs to 2.5 s.
 * prom-client's default buckets start at 5 ms, where a healthy Redis round trip would already be
 * an outlier, so a Redis-scale histogram should pass these instead.
 */
export const REDIS_LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]);

/** The scrape endpoint's path when `forRoot` is not given one. */
export const DEFAULT_METRICS_PATH = 'metrics';

/**
 * The metadata key `@ApiExcludeController()` of @nestjs/swagger writes. Written directly so that the
 * scrape endpoint stays out of OpenAPI documents without this lib importing @nestjs/swagger.
 */
export const SWAGGER_EXCLUDE_CONTROLLER_METADATA = 'swagger/apiExcludeController';

/** A standard metric `collectDefaultMetrics` registers; its presence means they are collected already. */
export const DEFAULT_METRICS_MARKER = 'process_cpu_user_seconds_total';

/**
 * Gauges `collectDefaultMetrics` registers under a `_total` name, which `promtool check metrics`
 * rejects (`_total` is for counters). Dropped: each is the sum of the per-type gauge of the same name
 * without `_total` (`nodejs_active_handles{type}`), which stays, so `sum(nodejs_active_handles)`
 * gives it back.
 */
export const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;
