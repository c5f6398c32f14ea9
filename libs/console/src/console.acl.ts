import type { RedisAclManifest } from '@redkit/redis';

/**
 * What `@redkit/console` sends: stream reads (XINFO STREAM without FULL, XINFO GROUPS and CONSUMERS,
 * XLEN, XRANGE and XPENDING with a COUNT), MEMORY USAGE with 5 samples, SCAN with a COUNT (never
 * KEYS) to find streams, locks and books, PTTL / GET / ZCARD / HLEN of lock keys, the
 * actions (XACK, XCLAIM, XAUTOCLAIM, XDEL, and its `console_*` script that replays dead letters),
 * PUBLISH of the `console.action` audit event, and its signed-out sessions (SET with PX and MGET of
 * `console:{sessions}:*` keys, with an API key). No INFO or SLOWLOG: the Redis view reads what the
 * connection's `serverMetrics` collector samples, on a connection of its own.
 */
export const consoleAclManifest: RedisAclManifest = {
  module: 'console',
  commands: [
    'xinfo|stream',
    'xinfo|groups',
    'xinfo|consumers',
    'xlen',
    'xrange',
    'xpending',
    'xack',
    'xclaim',
    'xautoclaim',
    'xdel',
    'memory|usage',
    'scan',
    'pttl',
    'get',
    'zcard',
    'hlen',
    'exists',
    'publish',
    'set',
    'mget',
  ],
  ownsScript: (name) => name.startsWith('console_'),
};
