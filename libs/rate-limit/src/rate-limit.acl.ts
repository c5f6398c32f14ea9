import type { RedisAclManifest } from '@redkit/redis';

/** What `@redkit/rate-limit` sends: its scripts (`ratelimit_*`) and UNLINK for `reset`. */
export const rateLimitAclManifest: RedisAclManifest = {
  module: 'rate-limit',
  commands: ['unlink'],
  ownsScript: (name) => name.startsWith('ratelimit_'),
};
