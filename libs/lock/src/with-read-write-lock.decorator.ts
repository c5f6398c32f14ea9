import { SetMetadata } from '@nestjs/common';

import { WITH_READ_WRITE_LOCK_METADATA } from './lock.constants.js';
import type { ReadWriteLockOptions } from './read-write-lock.js';
import type { ReadWriteMode } from './read-write-lock-scripts.js';

/** Options of {@link WithReadLock} and {@link WithWriteLock}. */
export interface WithReadWriteLockOptions<A extends unknown[] = unknown[]> extends ReadWriteLockOptions {
  /**
   * The read-write lock's name: fixed, a template filled in from the arguments (`'book:{0}'`), or a
   * function of them.
   */
  resource: string | ((...args: A) => string);
}

/** @internal What the two decorators record. */
export interface ReadWriteLockMetadata extends WithReadWriteLockOptions {
  mode: ReadWriteMode;
}

/**
 * Runs the method holding a read lease of the read-write lock (`ReadWriteLock.read`): any number
 * of readers at once, none while a writer holds it or waits (writer preference). A
 * `@WithWriteLock` method of the same resource called from inside throws
 * `UpgradeNotSupportedError` instead of deadlocking. Same rules as `@WithLock` otherwise.
 *
 * @example
 * @WithReadLock({ resource: 'catalog:{0}' })
 * async price(sku: string): Promise<Price> { ... }
 */
export function WithReadLock<A extends unknown[] = unknown[]>(
  options: WithReadWriteLockOptions<A>,
): MethodDecorator {
  return SetMetadata(WITH_READ_WRITE_LOCK_METADATA, { ...options, mode: 'read' });
}

/**
 * Runs the method holding the write lease of the read-write lock (`ReadWriteLock.write`): alone,
 * with no reader. Same rules as `@WithLock` otherwise.
 *
 * @example
 * @WithWriteLock({ resource: 'catalog:{0}', maxWaitMs: 5_000 })
 * async reprice(sku: string, price: Price): Promise<void> { ... }
 */
export function WithWriteLock<A extends unknown[] = unknown[]>(
  options: WithReadWriteLockOptions<A>,
): MethodDecorator {
  return SetMetadata(WITH_READ_WRITE_LOCK_METADATA, { ...options, mode: 'write' });
}
