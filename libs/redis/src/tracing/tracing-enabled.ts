import { tracingEnabled as otelTracingEnabled } from './otel-api.js';

/**
 * Whether redkit records spans now: an OpenTelemetry tracer provider is registered and
 * `@opentelemetry/api` is installed. One property read on `globalThis` when none is; checked per
 * operation, so a provider registered after startup is picked up.
 */
export function tracingEnabled(): boolean {
  return otelTracingEnabled();
}
