import { createRequire } from 'node:module';

import type * as OpenTelemetryApi from '@opentelemetry/api';

/** @internal The `@opentelemetry/api` module, as redkit loads it. */
export type OtelApi = typeof OpenTelemetryApi;

/**
 * Where `@opentelemetry/api` 1.x keeps what an SDK registers (`trace`, `context`, `propagation`):
 * on globalThis under this symbol, shared by every copy of the API in the process, CommonJS or ESM.
 * Reading it tells whether a tracer provider is registered without loading the API at all.
 */
const OTEL_API_KEY = Symbol.for('opentelemetry.js.api.1');

interface OtelRegistry {
  trace?: unknown;
  propagation?: unknown;
}

const registries = globalThis as unknown as Record<symbol, OtelRegistry | undefined>;

/**
 * The registry once it exists: the API creates it on the first registration and never replaces it
 * (unregistering deletes a property of it), so holding it spares later checks the global lookup.
 */
let registry: OtelRegistry | undefined;

/** undefined: not tried yet; null: not installed (an optional peer dependency). */
let api: OtelApi | null | undefined;

/**
 * Loads `@opentelemetry/api` the first time a tracer provider is seen, synchronously (require, so
 * the first span of the process is not lost to an `await import`); null when it is not installed.
 */
function load(): OtelApi | null {
  if (api !== undefined) return api;
  try {
    api = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
  } catch {
    api = null;
  }
  return api;
}

/**
 * Whether spans are recorded now: an OpenTelemetry tracer provider is registered globally and the
 * API can be loaded. Without a provider this is one property read on globalThis: no allocation,
 * no module load, so the libs' hot paths pay a boolean check when tracing is off. It is checked per
 * operation, so a provider registered after the app started is picked up, and one unregistered
 * (`trace.disable()`) stops the spans.
 */
export function tracingEnabled(): boolean {
  const found = registry ?? (registry = registries[OTEL_API_KEY]);
  if (found === undefined || found.trace === undefined) return false;
  return (api === undefined ? load() : api) !== null;
}

/** @internal The loaded API; call only after {@link tracingEnabled} returned true. */
export function otelApi(): OtelApi {
  return api as OtelApi;
}

/** @internal Whether an SDK registered a propagator (else redkit reads and writes W3C headers itself). */
export function propagatorRegistered(): boolean {
  return (registry ?? registries[OTEL_API_KEY])?.propagation !== undefined;
}
