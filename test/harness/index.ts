export { clientNames } from './client-names.js';
export { eventually } from './eventually.js';
export { requireRedisBinaries } from './redis-binaries.js';
export { RedisClusterServers } from './redis-cluster.js';
export { RedisServer, type RedisServerOptions } from './redis-server.js';
export { sharedClusterNodes, sharedRedisUrl, sharedTopologies } from './shared-servers.js';
export { generateTlsFiles, type TlsFiles } from './tls-files.js';
export { deleteKeys, killWorkersAndDeleteKeys, metricValue, sleep, uniquePrefix } from './test-keys.js';
export { messageFrom } from './worker-messages.js';
