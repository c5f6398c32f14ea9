export { ConsoleModule } from './console.module.js';
export {
  CONSOLE_ACTION_EVENT,
  CONSOLE_DEFAULT_PATH,
  CONSOLE_MODULE_OPTIONS,
  CONSOLE_SESSION_COOKIE,
} from './console.constants.js';
export type {
  ConsoleAction,
  ConsoleMode,
  ConsoleModuleExtras,
  ConsoleModuleOptions,
  ConsoleStreamRules,
} from './console-options.interface.js';
export { CONSOLE_ACTIONS } from './console-options.validator.js';
export type { ConsoleAuditRecord } from './console-audit.js';
export { ConsoleGuard } from './console.guard.js';
export { ConsoleError, ConsoleOptionsError } from './console.errors.js';
export { consoleAclManifest } from './console.acl.js';
export type { ConsoleSessionBody } from './console-session.controller.js';
export type {
  ConsumerSummary,
  GroupSummary,
  StreamDetail,
  StreamsBody,
  StreamSummary,
} from './streams.view.js';
export type { PendingEntry, PendingPage } from './pending-entries.service.js';
export type { DeadLetterEntry, DeadLetterPage, ReplayReport } from './dead-letters.service.js';
export type { ThroughputBody, ThroughputPoint, ThroughputSeries } from './throughput.history.js';
export type { LockInfo, LocksBody } from './locks.view.js';
export type { LimitRates, LimitSeries, LimitsBody } from './limit.history.js';
export type { LimitedIdentity } from './top-limited-identities.js';
export type { CacheBody, CacheNamespaceInfo } from './cache.view.js';
export type { ConsoleEvent, EventBatch } from './event-tail.js';
export type { RedisBody, RedisNodeInfo } from './redis.view.js';
export type { OrderBookLadder } from './orderbook.view.js';
export type { ConsoleView } from './console-view.js';
