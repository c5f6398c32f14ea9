export { RedisModule } from './redis.module.js';
export { REDIS_MODULE_OPTIONS } from './redis.module-definition.js';
export type {
  RedisModuleExtras,
  RedisModuleOptions,
  RedisNodeAddress,
  RedisTlsOptions,
} from './redis-options.interface.js';
export { resolveRedisOptions, redact, type ResolvedRedisOptions } from './redis-options.validator.js';
export {
  DEFAULT_REDIS_CONNECTION,
  REDIS_DEFAULTS,
  getRedisConnectionToken,
  getRedisToken,
} from './redis.constants.js';
export { InjectRedis, InjectRedisConnection } from './redis.decorators.js';
export { connectedServiceExtras, type ConnectedServiceExtras } from './connected-service.extras.js';
export { RedisConnection } from './redis-connection.js';
export type { RedisConnectionState } from './redis-connection.monitor.js';
export type { RedisFailoverEvent } from './redis-failover.detector.js';
export type { RedisClient } from './redis-client.js';
export {
  RedisHealthIndicator,
  type RedisHealthOptions,
  type RedisHealthResult,
} from './redis-health.indicator.js';
export {
  RedisScript,
  allDefinedScripts,
  defineScript,
  scriptCommands,
  type DefinedScript,
  type RedisScriptDefinition,
  type ScriptArgument,
  type ScriptFunction,
} from './redis-script.js';
export {
  DEFAULT_DURABILITY_TIMEOUT_MS,
  MAX_DURABILITY_REPLICAS,
  resolveDurability,
  runScriptDurably,
  sendCommandDurably,
  type DurabilityOptions,
  type DurableReply,
  type ResolvedDurability,
} from './durable-write.js';
export {
  RedisKeyspace,
  encodeKeyPart,
  type KeyPartOptions,
  type LongKeyPartPolicy,
} from './redis-keyspace.js';
export { scanKeys } from './redis-scan.js';
export { TURN_BATCH_WEIGHT, TurnQueue } from './turn-queue.js';
export {
  DedicatedSubscriber,
  DedicatedSubscriberError,
  type DedicatedSubscriberOptions,
} from './dedicated-subscriber.js';
export { clusterKeySlot } from './cluster-key-slot.js';
export {
  InvalidKeyPartError,
  RedisConnectionError,
  RedisCredentialsError,
  RedisKitError,
  RedisOptionsError,
  RedisPermissionError,
  RedisScriptError,
} from './redis.errors.js';
export { asPermissionError } from './acl/permission-error.js';
export {
  manifestChannels,
  manifestCommands,
  manifestScriptCommands,
  type RedisAclManifest,
  type RedisAclOption,
} from './acl/acl-manifest.js';
export {
  DANGEROUS_COMMANDS,
  aclSetUserArguments,
  aclUserRules,
  checkAclUser,
  type AclShortfall,
  type AclUserSpec,
} from './acl/acl-rules.js';
export { redisAclManifest } from './redis.acl.js';
export { guardProduction, productionFindings } from './production-guard.js';
export { RedisServerMetrics, parseInfo, replicationLag } from './redis-server.metrics.js';
export type { RedisCredentials, RedisCredentialsProvider } from './credentials/redis-credentials.js';
export type { RenewalOutcome } from './credentials/credential-renewer.js';
export {
  CORRELATION_ID_HEADER,
  MAX_CORRELATION_ID_LENGTH,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  correlationIdFromHeaders,
  currentCorrelationId,
  isValidCorrelationId,
  newCorrelationId,
  parseTraceparent,
  runWithCorrelation,
} from './tracing/correlation.js';
export { CorrelationModule } from './tracing/correlation.module.js';
export { CORRELATION_MODULE_OPTIONS } from './tracing/correlation.module-definition.js';
export type { CorrelationModuleOptions } from './tracing/correlation-options.js';
export { CorrelationOptionsError, InvalidCorrelationIdError } from './tracing/tracing.errors.js';
export { RedkitLogger } from './tracing/redkit-logger.js';
export { tracingEnabled } from './tracing/tracing-enabled.js';
export {
  RedkitTracer,
  recordSpanError,
  type RedkitSpan,
  type RedkitSpanKind,
  type RedkitSpanOptions,
  type SpanAttributeValue,
  type SpanAttributes,
} from './tracing/redkit-tracer.js';
export { SPAN_ATTRIBUTES, redisSpanAttributes } from './tracing/span-attributes.js';
export {
  extractTraceContext,
  injectTraceContext,
  runInRestoredContext,
  type RestorableContext,
  type TraceCarrier,
  type TraceContext,
} from './tracing/trace-context.js';
