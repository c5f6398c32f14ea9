import type { Registry, RegistryContentType } from 'prom-client';

/** Options of `MetricsModule.forRoot` / `forRootAsync`, and of `new MetricsService(options)`. */
export interface MetricsModuleOptions {
  /**
   * Collect prom-client's default Node.js process metrics (CPU, memory, event-loop lag, GC, handles)
   * into the registry, under their standard names (`process_cpu_user_seconds_total`,
   * `nodejs_eventloop_lag_seconds`, …) so that stock dashboards work. Skipped when the registry holds
   * them already. Default `true`.
   */
  defaultMetrics?: boolean;
  /**
   * Expose this registry instead of creating one, e.g. one the application already serves or pushes.
   * Metrics the service creates in it are removed again when the application shuts down.
   */
  registry?: Registry<RegistryContentType>;
  /**
   * Labels added to every metric of the registry, e.g. `{ app: 'orderbook-api' }`. Replaces the
   * registry's default labels. Keep them low-cardinality: never a per-request value.
   */
  defaultLabels?: Record<string, string>;
}

/** Options of the module definition itself (they shape the Nest module, not the service). */
export interface MetricsModuleExtras {
  /** Register the module globally, so any module can inject `MetricsService`. Default `true`. */
  isGlobal: boolean;
  /** Path of the scrape endpoint (`GET /metrics`), or `false` for no endpoint. Default `'metrics'`. */
  path: string | false;
}
