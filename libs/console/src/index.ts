export { ConsoleModule } from './console.module.js';
export {
  CONSOLE_ACTION_EVENT,
  CONSOLE_DEFAULT_PATH,
  CONSOLE_MODULE_OPTIONS,
  CONSOLE_SESSION_COOKIE,
} from './console.constants.js';
export type { ConsoleAction, ConsoleMode } from './console-api.types.js';
export type {
  ConsoleModuleExtras,
  ConsoleModuleOptions,
  ConsoleStreamRules,
} from './console-options.interface.js';
export { CONSOLE_ACTIONS } from './console-options.validator.js';
export type { ConsoleAuditRecord } from './console-audit.js';
export { ConsoleGuard } from './console.guard.js';
export { ConsoleError, ConsoleOptionsError } from './console.errors.js';
export { consoleAclManifest } from './console.acl.js';
export type {
  AutoclaimReport,
  CacheBody,
  CacheNamespaceInfo,
  ConsoleEvent,
  ConsoleSessionBody,
  ConsoleView,
  ConsumerSummary,
  DeadLetterEntry,
  DeadLetterPage,
  EventBatch,
  EventsBody,
  GroupLaneSummary,
  GroupSummary,
  LanePriority,
  LaneSummary,
  LimitedIdentity,
  LimitRates,
  LimitSeries,
  LimitsBody,
  LockInfo,
  LocksBody,
  OrderBookLadder,
  PartitionedStreamSummary,
  PendingEntry,
  PendingPage,
  RedisBody,
  RedisNodeInfo,
  ReplayReport,
  StreamDetail,
  StreamPartitionRef,
  StreamsBody,
  StreamSummary,
  ThroughputBody,
  ThroughputPoint,
  ThroughputSeries,
} from './console-api.types.js';
