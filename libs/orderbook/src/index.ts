export { OrderBookModule } from './orderbook.module.js';
export { ORDERBOOK_MODULE_OPTIONS } from './orderbook.module-definition.js';
export { OrderBookStore } from './orderbook.store.js';
export type {
  OrderBookModuleExtras,
  OrderBookModuleOptions,
  OrderBookSequenceMode,
  OrderBookSymbolOptions,
} from './orderbook-options.interface.js';
export type { OrderBookLevel } from './orderbook-levels.js';
export type {
  OrderBookSnapshot,
  OrderBookTop,
  OrderBookWrite,
  OrderBookWriteResult,
} from './orderbook.types.js';
export { bookChecksum, checksumText, crc32 } from './orderbook-checksum.js';
export {
  BookNotFoundError,
  CrossedBookError,
  InvalidLevelError,
  OrderBookDurabilityError,
  OrderBookError,
  OrderBookOptionsError,
  OrderBookValidationError,
  SequenceGapError,
  StaleSequenceError,
  UnknownSymbolError,
  type OrderBookDurableOperation,
  type OrderBookErrorCode,
} from './orderbook.errors.js';
export { orderBookAclManifest } from './orderbook.acl.js';
