import type { RedisAclManifest } from '@redkit/redis';

/**
 * What `@redkit/orderbook` sends: its scripts (`orderbook_*`), GET of the top levels, UNLINK for
 * `delete`. With `durability`, WAIT after each write.
 */
export const orderBookAclManifest: RedisAclManifest = {
  module: 'orderbook',
  commands: ['get', 'unlink'],
  ownsScript: (name) => name.startsWith('orderbook_'),
  options: {
    durability: {
      description: 'durability: { replicas } (WAIT after each durable write)',
      commands: ['wait'],
    },
  },
};
