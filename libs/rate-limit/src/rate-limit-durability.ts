import {
  runScriptDurably,
  type DurableReply,
  type RedisClient,
  type RedisScript,
  type ResolvedDurability,
  type ScriptArgument,
} from '@redkit/redis';

import { RateLimitUnreplicatedError } from './rate-limit.errors.js';
import type { DurabilityOutcomes, RateLimitMetrics } from './rate-limit.metrics.js';
import { batchScript, type CheckReply } from './rate-limit-scripts.js';

/**
 * Durable mode's admissions: each check script runs by `runScriptDurably`, so a `WAIT replicas
 * timeoutMs` follows it on the same connection (the checks of one turn share one WAIT). An admission
 * counts only once enough replicas acknowledged it: otherwise it fails as a Redis failure would,
 * so that a promoted replica never lacks an admission this instance let through on Redis's word.
 * A refusal admitted nothing, so it stands whatever the WAIT answered.
 */
export class DurableAdmissions {
  private readonly outcomes: DurabilityOutcomes;

  constructor(
    private readonly client: RedisClient,
    private readonly durability: ResolvedDurability,
    metrics: RateLimitMetrics,
  ) {
    this.outcomes = metrics.durabilityOutcomes();
  }

  /**
   * Runs a one-check script (one limit, or the combined check) followed by WAIT. Resolves with its
   * reply; rejects with {@link RateLimitUnreplicatedError} when it admitted the request and too few
   * replicas acknowledged that in time, and as the script's own call does when that fails.
   */
  async check(
    script: RedisScript<ScriptArgument[], CheckReply>,
    keys: readonly string[],
    args: readonly ScriptArgument[],
  ): Promise<CheckReply> {
    const waited = await runScriptDurably(
      script,
      this.client,
      keys,
      args as ScriptArgument[],
      this.durability,
    );
    if (waited.reply[0] === 1) {
      const failure = this.settle(waited);
      if (failure !== undefined) throw failure;
    }
    return waited.reply;
  }

  /** The batch script of the check batcher, followed by WAIT; its checks are settled one by one ({@link settle}). */
  batch(keys: readonly string[], args: ScriptArgument[]): Promise<DurableReply<number[]>> {
    return runScriptDurably(batchScript, this.client, keys, args, this.durability);
  }

  /**
   * Counts one admission's acknowledgement; returns the error to decide it with when too few
   * replicas acknowledged it, else undefined.
   */
  settle(waited: DurableReply<unknown>): RateLimitUnreplicatedError | undefined {
    if (waited.durable) {
      this.outcomes.acknowledged.inc();
      return undefined;
    }
    this.outcomes.unacknowledged.inc();
    const { replicas, timeoutMs } = this.durability;
    return new RateLimitUnreplicatedError(
      waited.acknowledged,
      replicas,
      timeoutMs,
      waited.waitError === undefined ? undefined : { cause: waited.waitError },
    );
  }
}
