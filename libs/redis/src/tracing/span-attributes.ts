import type { RedisConnection } from '../redis-connection.js';
import type { SpanAttributes } from './redkit-tracer.js';

/**
 * Attribute names redkit's spans share. OpenTelemetry's semantic-convention names where it defines
 * one (database, messaging, HTTP, error), `redkit.*` for the rest. Both the stable `db.system.name`
 * and the older `db.system` are set, so backends on either generation of the conventions group
 * the spans as Redis.
 */
export const SPAN_ATTRIBUTES = Object.freeze({
  DB_SYSTEM_NAME: 'db.system.name',
  DB_SYSTEM: 'db.system',
  DB_OPERATION_NAME: 'db.operation.name',
  DB_NAMESPACE: 'db.namespace',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  HTTP_REQUEST_METHOD: 'http.request.method',
  HTTP_ROUTE: 'http.route',
  HTTP_RESPONSE_STATUS_CODE: 'http.response.status_code',
  URL_PATH: 'url.path',
  ERROR_TYPE: 'error.type',
  CORRELATION_ID: 'redkit.correlation_id',
} as const);

/**
 * The attributes every span of a Redis operation on `connection` carries: `db.system.name` and
 * `db.system` (`redis`), and for a standalone server `server.address`, `server.port` and
 * `db.namespace` (the database index). A Cluster or Sentinel connection has no one address to name.
 * Made once per service, frozen, and spread into each span's attributes.
 */
export function redisSpanAttributes(connection: RedisConnection): SpanAttributes {
  const { topology } = connection.options;
  const attributes: Record<string, string | number> = {
    [SPAN_ATTRIBUTES.DB_SYSTEM_NAME]: 'redis',
    [SPAN_ATTRIBUTES.DB_SYSTEM]: 'redis',
  };
  if (topology.kind === 'standalone') {
    attributes[SPAN_ATTRIBUTES.SERVER_ADDRESS] = topology.host;
    attributes[SPAN_ATTRIBUTES.SERVER_PORT] = topology.port;
    attributes[SPAN_ATTRIBUTES.DB_NAMESPACE] = String(topology.db);
  }
  return Object.freeze(attributes);
}
