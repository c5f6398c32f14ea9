import type { RedisAclManifest } from '@redkit/redis';

// Loading the matching scripts defines them, so the manifest's script commands are read from their Lua.
import './exchange/matching-scripts.js';

/**
 * What the sample API sends itself, beside its modules: ExchangeService's reads (HGET of an order,
 * LRANGE and LINDEX of the trades, ZCARD of the books) and its `exchange_*` matching scripts.
 * `redkit acl --manifest apps/orderbook-api/dist/app.acl.js` adds it to the modules' user, as an
 * app of yours would declare its own commands.
 */
export const orderBookApiAclManifest: RedisAclManifest = {
  module: 'orderbook-api',
  commands: ['hget', 'lindex', 'lrange', 'zcard'],
  ownsScript: (name) => name.startsWith('exchange_'),
};
