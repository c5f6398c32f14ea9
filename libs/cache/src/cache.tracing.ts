import { RedkitTracer, SPAN_ATTRIBUTES, redisSpanAttributes, type RedisConnection } from '@redkit/redis';
import type { SpanAttributes } from '@redkit/redis';

/** The cache's spans (recorded only while an OpenTelemetry tracer provider is registered). */
export const cacheTracer = new RedkitTracer('@redkit/cache');

/** `redkit.cache.hit`: where `getOrSet` found its answer, `l1`, `l2`, or `miss` (the loader ran). */
export const CACHE_HIT = 'redkit.cache.hit';
/** `redkit.cache.stale`: true when a stale value was served (grace, a failed or slow loader). */
export const CACHE_STALE = 'redkit.cache.stale';
/** `redkit.cache.flight`: `joined` when the call waited for a load another caller started. */
export const CACHE_FLIGHT = 'redkit.cache.flight';
export const CACHE_NAMESPACE = 'redkit.cache.namespace';

/** The attributes of a `cache getOrSet` span, before its outcome. */
export function getOrSetSpanAttributes(connection: RedisConnection, namespace: string): SpanAttributes {
  return {
    ...redisSpanAttributes(connection),
    [SPAN_ATTRIBUTES.DB_OPERATION_NAME]: 'getOrSet',
    [CACHE_NAMESPACE]: namespace,
  };
}
