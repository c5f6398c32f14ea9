import type { RedisAclManifest } from '@redkit/redis';

/**
 * What `@redkit/rate-limit` sends: its scripts (`ratelimit_*`) and UNLINK for `reset`. With
 * `durability`, WAIT after each admission.
 */
export const rateLimitAclManifest: RedisAclManifest = {
  module: 'rate-limit',
  commands: ['unlink'],
  ownsScript: (name) => name.startsWith('ratelimit_'),
  options: {
    durability: {
      description: 'durability: { replicas } (WAIT after each durable write)',
      commands: ['wait'],
    },
  },
};
