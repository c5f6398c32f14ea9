export type {
  CounterDefinition,
  GaugeDefinition,
  HistogramDefinition,
} from './metric-definition.interface.js';
export { REDIS_LATENCY_BUCKETS_SECONDS, REDKIT_METRIC_NAME } from './metrics.constants.js';
export { MetricDefinitionError, MetricsOptionError } from './metrics.errors.js';
export { MetricsModule } from './metrics.module.js';
export { MetricsService, type DeferredCounter, type DeferredCounterChild } from './metrics.service.js';
export type { DeferredHistogram, DeferredHistogramChild } from './deferred-histogram.js';
export type { MetricsModuleExtras, MetricsModuleOptions } from './metrics-module-options.interface.js';
export {
  requestRemoteAddress,
  requestUser,
  setResponseHeader,
  type HttpRequestLike,
  type HttpResponseLike,
} from './http-exchange.js';
