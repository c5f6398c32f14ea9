import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInThisContext } from 'node:vm';

import { type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MetricsModule } from '@redkit/metrics';
import { defineScript, RedisModule, type RedisClient, type RedisModuleOptions } from '@redkit/redis';

/** The failover specs' command timeout. */
export const COMMAND_TIMEOUT_MS = 1_000;
/**
 * A write that takes longer than this hung. A sent command is bounded by COMMAND_TIMEOUT_MS; one that
 * ioredis's auto-pipeline still holds behind a batch waiting on a frozen server starts its deadline
 * only once that batch settles, so up to twice the timeout, plus sweeps and slack.
 */
export const HANG_BOUND_MS = 2 * COMMAND_TIMEOUT_MS + 500;
/** A functional bound on recovery, far above what is measured: this checks recovery, not its speed. */
export const RECOVERY_BOUND_MS = 30_000;
/**
 * Primaries the recovery specs kill in one run: 4 in the suite (each costs a few seconds);
 * REDKIT_FAILOVER_KILLS raises it when measuring recovery times (REDKIT_FAILOVER_RESULTS keeps them).
 */
export const FAILOVER_KILLS = Number(process.env.REDKIT_FAILOVER_KILLS ?? 4);
/** The default connection's failover counter, as MetricsService renders it. */
export const FAILOVERS_SERIES = 'redkit_redis_failovers_total{connection="default"}';

/** A Nest app of RedisModule (with `redis`) and MetricsModule, initialised, logging nothing. */
export async function startFailoverApp(redis: RedisModuleOptions): Promise<INestApplication> {
  @Module({ imports: [MetricsModule.forRoot({ defaultMetrics: false }), RedisModule.forRoot(redis)] })
  class FailoverAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [FailoverAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** Every key the load writes expires: a test that dies leaves nothing behind for long. */
const KEY_TTL_MS = 60_000;
/** A worker whose write failed waits this long before the next, so a refused connection is not a busy loop. */
const RETRY_PAUSE_MS = 5;

const failoverWrite = defineScript<[ttlMs: number], number>({
  name: 'test_failover_write',
  numberOfKeys: 1,
  lua: `-- KEYS[1] counter; ARGV[1] time to live in ms; returns the counter after the increment
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return count`,
});

/**
 * A steady load of writes: `inFlight` workers, each writing as soon as its last write settled, half
 * with SET, half with a script (EVALSHA, so a new primary without the script in its cache is part of
 * the test). It records how long the slowest write took to settle, and when the first write after a
 * given moment succeeded.
 */
export class WriteLoad {
  /** The longest a write took to settle, succeeded or failed (ms). */
  longestMs = 0;
  succeeded = 0;
  failed = 0;
  /** Error messages seen, with how often: what a failed assertion shows. */
  readonly errors = new Map<string, number>();

  private running = true;
  private readonly workers: Array<Promise<void>>;
  private watchFrom = Number.POSITIVE_INFINITY;
  private firstSuccess: number | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: readonly string[],
    inFlight = 8,
  ) {
    this.workers = Array.from({ length: inFlight }, (_, worker) => this.work(worker));
  }

  /**
   * Resolves with the moment (performance.now()) the first write started at or after `from`
   * succeeded; rejects after `timeoutMs`.
   */
  async firstSuccessAfter(from: number, timeoutMs: number): Promise<number> {
    this.watchFrom = from;
    this.firstSuccess = undefined;
    const deadline = performance.now() + timeoutMs;
    while (this.firstSuccess === undefined) {
      if (performance.now() > deadline) {
        throw new Error(`no write succeeded within ${timeoutMs} ms; errors: ${this.describeErrors()}`);
      }
      await sleep(5);
    }
    this.watchFrom = Number.POSITIVE_INFINITY;
    return this.firstSuccess;
  }

  /** Stops the workers and resolves once every write in flight has settled. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  describeErrors(): string {
    return [...this.errors].map(([message, count]) => `${count}× ${message}`).join('; ') || 'none';
  }

  private async work(worker: number): Promise<void> {
    const key = this.keys[worker % this.keys.length] as string;
    for (let sequence = 0; this.running; sequence++) {
      const started = performance.now();
      let ok = true;
      try {
        if (worker % 2 === 0) await this.client.set(key, String(sequence), 'PX', KEY_TTL_MS);
        else await failoverWrite.run(this.client, [`${key}:count`], [KEY_TTL_MS]);
      } catch (error) {
        ok = false;
        const message = (error as Error).message.split('\n')[0] ?? '';
        this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
      }
      const ended = performance.now();
      this.longestMs = Math.max(this.longestMs, ended - started);
      if (ok) {
        this.succeeded += 1;
        if (this.firstSuccess === undefined && started >= this.watchFrom) this.firstSuccess = ended;
      } else {
        this.failed += 1;
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }
}

/**
 * Collects the promise rejections nobody handled while it is on. Jest gives each test file a copy of
 * `process`; Node reports them on the real one.
 */
export function watchUnhandledRejections(): { reasons: unknown[]; stop(): void } {
  const hostProcess = runInThisContext('process') as NodeJS.Process;
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  hostProcess.on('unhandledRejection', listener);
  return { reasons, stop: () => hostProcess.off('unhandledRejection', listener) };
}

/** The `fraction` percentile of `samples` (nearest rank). */
export function percentile(samples: readonly number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/**
 * Appends a spec's measured recovery times to the file REDKIT_FAILOVER_RESULTS names, as one JSON
 * line, so the numbers in the README can be reproduced; a run without it prints and writes nothing.
 */
export function recordRecoveryTimes(topology: string, recoveryMs: readonly number[]): void {
  const file = process.env.REDKIT_FAILOVER_RESULTS;
  if (!file) return;
  const line = {
    topology,
    date: new Date().toISOString(),
    samples: recoveryMs.map((ms) => Math.round(ms)),
    p50: Math.round(percentile(recoveryMs, 0.5)),
    p99: Math.round(percentile(recoveryMs, 0.99)),
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}
