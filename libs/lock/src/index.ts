export { LockModule } from './lock.module.js';
export { LOCK_MODULE_OPTIONS } from './lock.module-definition.js';
export { LockService, type LockedFunction } from './lock.service.js';
export { Lock } from './lock.js';
export {
  ReadWriteLease,
  ReadWriteLock,
  type ReadWriteAcquireOptions,
  type ReadWriteLockOptions,
} from './read-write-lock.js';
export type { ReadWriteMode } from './read-write-lock-scripts.js';
export { LeaseHandle } from './lease-handle.js';
export { LeaderElectionModule, LeaderElectionRunner } from './leader-election.module.js';
export {
  LEADER_ELECTION_MODULE_OPTIONS,
  type LeaderElectionModuleOptions,
} from './leader-election.module-definition.js';
export { LeaderOnly } from './leader-only.decorator.js';
export {
  LeaderElector,
  type LeaderElectionOptions,
  type LeaderState,
  type LeaderStatus,
  type LeaderTermWindow,
} from './leader-elector.js';
export {
  Semaphore,
  SemaphorePermit,
  type SemaphoreAcquireOptions,
  type SemaphoreOptions,
} from './semaphore.js';
export { FencedStore, type FencedStoreOptions, type FencedWriteOptions } from './fenced.store.js';
export { defineFencedScript, FencedScript, type FencedScriptDefinition } from './fenced-script.js';
export { WithLock, type WithLockOptions } from './with-lock.decorator.js';
export {
  LEADER_ONLY_METADATA,
  LEADERSHIP_TOKEN,
  WITH_LOCK_METADATA,
  WITH_READ_WRITE_LOCK_METADATA,
  WITH_SEMAPHORE_METADATA,
} from './lock.constants.js';
export { WithSemaphore, type WithSemaphoreOptions } from './with-semaphore.decorator.js';
export {
  WithReadLock,
  WithWriteLock,
  type WithReadWriteLockOptions,
} from './with-read-write-lock.decorator.js';
export { LockDecoratorsExplorer } from './lock-decorators.explorer.js';
export { compileResourceTemplate, ResourceTemplateError } from './resource-template.js';
export type {
  AcquireOptions,
  LockModuleExtras,
  LockModuleOptions,
  TryAcquireOptions,
} from './lock-options.interface.js';
export {
  FencedOutError,
  LockDurabilityError,
  LockError,
  UpgradeNotSupportedError,
  LockLostError,
  LockNotAcquiredError,
  LockOptionsError,
  type LockDurableOperation,
  type LockNotAcquiredReason,
} from './lock.errors.js';
export { lockAclManifest } from './lock.acl.js';
