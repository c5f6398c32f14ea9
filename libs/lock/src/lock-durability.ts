import type { MetricsService } from '@redkit/metrics';
import type { DurableReply, ResolvedDurability } from '@redkit/redis';

import { LockDurabilityError, type LockDurableOperation } from './lock.errors.js';
import { createDurabilityMetrics, type DurabilityMetrics } from './lock.metrics.js';

/**
 * @internal Durable mode's bookkeeping, one per LockService (shared with its semaphores) or
 * FencedStore: what each WAIT answered is counted (`redkit_lock_durability_total`), and a write too
 * few replicas acknowledged becomes the LockDurabilityError its caller rejects with.
 */
export class LockDurability {
  private readonly metrics: DurabilityMetrics;

  constructor(
    /** The `durability` option, checked. */
    readonly settings: ResolvedDurability,
    metrics: MetricsService | undefined,
    /** `error`, or the RedisPermissionError it stands for (a WAIT refused for the ACL user). */
    private readonly noteRefusal: (error: unknown) => unknown,
  ) {
    this.metrics = createDurabilityMetrics(metrics);
  }

  /** Counts what WAIT answered for a write; true when enough replicas acknowledged it. */
  acknowledged(operation: LockDurableOperation, waited: DurableReply<unknown>): boolean {
    this.metrics[operation][waited.durable ? 'acknowledged' : 'unacknowledged'].inc();
    return waited.durable;
  }

  /** The error of a write too few replicas acknowledged; its cause says why WAIT failed, if it did. */
  unreplicated(
    target: string,
    operation: LockDurableOperation,
    waited: DurableReply<unknown>,
  ): LockDurabilityError {
    const { replicas, timeoutMs } = this.settings;
    return new LockDurabilityError(
      target,
      operation,
      waited.acknowledged,
      replicas,
      timeoutMs,
      waited.waitError === undefined ? undefined : { cause: this.noteRefusal(waited.waitError) },
    );
  }
}
