import type { RedisAclManifest } from '@redkit/redis';

/**
 * What `@redkit/cache` sends: L2 reads (GET, MGET), writes (SET, UNLINK), tag sets (SMEMBERS),
 * invalidations and landing notices (PUBLISH, or SPUBLISH on a Cluster: sharded pub/sub; subscribed
 * with the connection's pub/sub commands), and its
 * scripts (`cache_*`). With `invalidation: 'tracking'`, Redis's client-side caching: CLIENT ID and
 * CLIENT TRACKING, and the `__redis__:invalidate` channel.
 */
export const cacheAclManifest: RedisAclManifest = {
  module: 'cache',
  commands: ['get', 'mget', 'set', 'unlink', 'smembers', 'publish', 'spublish'],
  ownsScript: (name) => name.startsWith('cache_'),
  options: {
    'invalidation=tracking': {
      description: "invalidation: 'tracking' (Redis client-side caching)",
      commands: ['client|id', 'client|tracking'],
      channels: ['__redis__:invalidate'],
    },
  },
};
