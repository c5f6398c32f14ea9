export { clientNames } from './client-names.js';
export { eventually } from './eventually.js';
export {
  requirePrometheus,
  requirePromtool,
  requirePythonRedis,
  requireRedisBinaries,
} from './redis-binaries.js';
export { RedisClusterServers, type RedisClusterOptions } from './redis-cluster.js';
export {
  RedisSentinelGroup,
  type RedisSentinelGroupOptions,
  type ServerAddress,
} from './redis-sentinel-group.js';
export { RedisServer, type RedisServerOptions } from './redis-server.js';
export {
  sharedAclCredentials,
  sharedAdminRedisUrl,
  sharedClusterNodes,
  sharedRedisUrl,
  sharedTopologies,
} from './shared-servers.js';
export { generateTlsFiles, type TlsFiles } from './tls-files.js';
export { deleteKeys, killWorkersAndDeleteKeys, metricValue, sleep, uniquePrefix } from './test-keys.js';
export { forkReadyWorkers, messageFrom } from './worker-messages.js';
export { PlaceholderConnectionModule } from './placeholder-connection.module.js';
export { captureLogs, workerOutput, type NestLogEntry } from './nest-logs.js';
export { createHttpApp, HTTP_ADAPTERS, type HttpAdapterName } from './http-app.js';
