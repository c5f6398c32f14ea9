import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigurableModuleClass, OPTIONS_TYPE } from './metrics.module-definition.js';
import { MetricsService } from './metrics.service.js';

/**
 * One prom-client registry for the application, the `MetricsService` that creates redkit's metrics
 * in it, and `GET /metrics` serving it.
 *
 * Options: `defaultMetrics`, `registry`, `defaultLabels` (see `MetricsModuleOptions`), and beside
 * them `isGlobal` (default `true`) and `path` (default `'metrics'`, `false` for no endpoint).
 *
 * @example
 * MetricsModule.forRoot({ defaultLabels: { app: 'orderbook-api' } })
 * MetricsModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ defaultMetrics: config.get('METRICS_PROCESS') === 'on' }),
 *   path: 'internal/metrics',
 * })
 */
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule extends ConfigurableModuleClass {
  /** Every option has a default, so `forRoot()` alone is enough. */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
