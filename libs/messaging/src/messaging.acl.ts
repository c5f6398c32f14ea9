import type { RedisAclManifest } from '@redkit/redis';

/**
 * What `@redkit/messaging` sends: stream commands (XADD, XREADGROUP, XACK, XCLAIM, XAUTOCLAIM, XPENDING,
 * XLEN, XRANGE, XINFO, XGROUP CREATE), its scripts (`messaging_*`), the event bus's PUBLISH (SPUBLISH
 * on a Cluster, sharded pub/sub) and subscriptions (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE: the connection's
 * pub/sub commands), and SET/EXISTS/DEL for its markers. With `durability`, WAIT after each stream
 * publish.
 */
export const messagingAclManifest: RedisAclManifest = {
  module: 'messaging',
  commands: [
    'xadd',
    'xreadgroup',
    'xack',
    'xclaim',
    'xautoclaim',
    'xpending',
    'xlen',
    'xrange',
    'xinfo|groups',
    'xinfo|consumers',
    'xgroup|create',
    'set',
    'exists',
    'del',
    'publish',
    'spublish',
  ],
  options: {
    durability: {
      description: 'durability: { replicas } (WAIT after each durable write)',
      commands: ['wait'],
    },
  },
  ownsScript: (name) => name.startsWith('messaging_'),
};
