import type { RedisAclManifest } from '@redkit/redis';

/**
 * What `@redkit/lock` sends: its scripts (locks, read-write locks, semaphores, leader election,
 * fenced writes), GET and HGETALL for fenced reads, PUBLISH for grants (on the connection's pub/sub
 * commands). With `durability`, WAIT after grants and fenced writes.
 */
export const lockAclManifest: RedisAclManifest = {
  module: 'lock',
  commands: ['get', 'hgetall', 'publish'],
  ownsScript: (name) => /^(lock|rwlock|semaphore|leader)_/.test(name),
  options: {
    durability: {
      description: 'durability: { replicas } (WAIT after each durable write)',
      commands: ['wait'],
    },
  },
};
