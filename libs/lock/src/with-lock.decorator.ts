import { SetMetadata } from '@nestjs/common';

import { WITH_LOCK_METADATA } from './lock.constants.js';
import type { AcquireOptions } from './lock-options.interface.js';

/** Options of {@link WithLock}: the resource, and the acquisition options of `LockService.using`. */
export interface WithLockOptions<A extends unknown[] = unknown[]> extends Omit<AcquireOptions, 'signal'> {
  /**
   * The resource: a template filled in from the arguments (`'orders:{0}'`, `'book:{0.symbol}'`), or
   * a function of them.
   */
  resource: string | ((...args: A) => string);
}

/**
 * Runs the method holding a lock on the resource (through `LockService.using`: acquired before,
 * extended while it runs, released after). Throws `LockNotAcquiredError` when the lock cannot be had
 * within `maxWaitMs`, and `LockLostError` when it is lost while the method runs.
 *
 * Applies to methods of singleton providers; `LockModule` wraps them at module init, after which
 * they return a Promise.
 *
 * @example
 * @WithLock({ resource: 'orders:{0}', ttlMs: 5_000, maxWaitMs: 2_000 })
 * async settle(orderId: string): Promise<void> { ... }
 */
export function WithLock<A extends unknown[] = unknown[]>(options: WithLockOptions<A>): MethodDecorator {
  return SetMetadata(WITH_LOCK_METADATA, { ...options });
}
