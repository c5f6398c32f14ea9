import { SetMetadata } from '@nestjs/common';

import { WITH_SEMAPHORE_METADATA } from './lock.constants.js';
import type { SemaphoreOptions } from './semaphore.js';

/** Options of {@link WithSemaphore}: which semaphore, what it is, and what one call takes of it. */
export interface WithSemaphoreOptions<A extends unknown[] = unknown[]> extends SemaphoreOptions {
  /**
   * The semaphore's name: fixed (`'exports'`), a template filled in from the arguments
   * (`'exports:{0.tenantId}'`, one semaphore per tenant), or a function of them.
   */
  semaphore: string | ((...args: A) => string);
  /** Permits one call holds. Default 1. */
  permits?: number;
}

/**
 * Runs the method holding permits of a semaphore (through `Semaphore.using`: acquired before,
 * extended while it runs, released after), so that at most `limit` permits' worth of calls run at
 * once across every instance. Throws `LockNotAcquiredError` when the permits cannot be had within
 * `maxWaitMs`, and `LockLostError` when the lease is lost while the method runs. Options are checked
 * when the module starts (a bad one fails startup, naming it).
 *
 * Applies to methods of singleton providers; `LockModule` wraps them at module init, after which
 * they return a Promise. Calls of one semaphore share one `Semaphore` object, so permits released
 * in this process go straight to its next waiting call (non-fair mode).
 *
 * @example
 * @WithSemaphore({ semaphore: 'pdf-export', limit: 4, maxWaitMs: 30_000 })
 * async exportPdf(reportId: string): Promise<Buffer> { ... }
 */
export function WithSemaphore<A extends unknown[] = unknown[]>(
  options: WithSemaphoreOptions<A>,
): MethodDecorator {
  return SetMetadata(WITH_SEMAPHORE_METADATA, { ...options });
}
