import type { RedisAclManifest } from '@redkit/redis';

/** What `@redkit/orderbook` sends: its scripts (`orderbook_*`), GET of the top levels, UNLINK for `delete`. */
export const orderBookAclManifest: RedisAclManifest = {
  module: 'orderbook',
  commands: ['get', 'unlink'],
  ownsScript: (name) => name.startsWith('orderbook_'),
};
