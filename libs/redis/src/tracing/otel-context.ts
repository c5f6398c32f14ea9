import type { Context } from '@opentelemetry/api';

import { parseTraceparent, TRACEPARENT_HEADER, TRACESTATE_HEADER } from './correlation.js';
import { propagatorRegistered, type OtelApi } from './otel-api.js';

/**
 * The OpenTelemetry side of trace-context propagation, kept apart from trace-context.ts so that no
 * declaration a user's compiler reads names `@opentelemetry/api` (an optional peer dependency).
 */

/** A version-00 `traceparent` header. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${traceFlags < 16 ? '0' : ''}${traceFlags.toString(16)}`;
}

/** The OpenTelemetry context of `carrier`'s trace context on top of `base`, or undefined. */
export function extractOtelContext(
  api: OtelApi,
  base: Context,
  carrier: Readonly<Record<string, string | undefined>>,
): Context | undefined {
  if (propagatorRegistered()) {
    const extracted = api.propagation.extract(base, carrier);
    const spanContext = api.trace.getSpanContext(extracted);
    return spanContext !== undefined && spanContext.isRemote === true ? extracted : undefined;
  }
  const parsed = parseTraceparent(carrier[TRACEPARENT_HEADER]);
  if (parsed === undefined) return undefined;
  const state = carrier[TRACESTATE_HEADER];
  return api.trace.setSpanContext(base, {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: parsed.traceFlags & 1,
    isRemote: true,
    ...(state ? { traceState: api.createTraceState(state) } : {}),
  });
}
