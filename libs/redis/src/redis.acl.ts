import type { RedisAclManifest } from './acl/acl-manifest.js';

/**
 * What every redkit connection sends, whatever the modules: the liveness check (PING, no INFO:
 * ioredis's ready check is off), its name (CLIENT SETNAME; the CLIENT SETINFO ioredis also sends is left out: Redis 7.0 lacks it, and ioredis ignores its refusal),
 * scripts (EVALSHA, EVAL after NOSCRIPT), SCAN for key cleanup, pub/sub on the dedicated
 * subscribers (channel rules limit what), a Cluster's topology (CLUSTER SLOTS, CLUSTER INFO, and
 * READONLY for replica reads) and QUIT on close.
 */
export const redisAclManifest: RedisAclManifest = {
  module: 'redis',
  commands: [
    'ping',
    'echo',
    'quit',
    'select',
    'client|setname',
    'evalsha',
    'eval',
    'scan',
    'subscribe',
    'unsubscribe',
    'psubscribe',
    'punsubscribe',
    'ssubscribe',
    'sunsubscribe',
    'cluster|slots',
    'cluster|shards',
    'cluster|info',
    'readonly',
  ],
  // redis_acl_preflight: which script commands the user lacks (it calls no command itself).
  ownsScript: (name) => name.startsWith('redis_'),
};
