import { setTimeout as sleep } from 'node:timers/promises';

import type { CacheService } from '@redkit/cache';
import type { LockService } from '@redkit/lock';
import type { StreamConsumer, StreamConsumers, StreamProducer } from '@redkit/messaging';
import type { MetricsService } from '@redkit/metrics';
import {
  BookNotFoundError,
  SequenceGapError,
  StaleSequenceError,
  type OrderBookStore,
} from '@redkit/orderbook';
import type { RateLimiterService, RateLimitRule } from '@redkit/rate-limit';
import type { RedisClient } from '@redkit/redis';

/** The five modules measured, and the two ways each runs. */
export type ModuleName = 'lock' | 'limiter' | 'streams' | 'orderbook' | 'cache';
export type Mode = 'default' | 'durable';

/** A failed call waits this long before the next, so a refused connection is not a busy loop. */
const RETRY_PAUSE_MS = 20;

/** What every workload counts, whatever its module. */
export interface WorkloadCounts {
  /** Calls that resolved / rejected. */
  succeeded: number;
  failed: number;
  /** The longest any call took to settle (ms); a lock acquisition counts its wait too. */
  longestCallMs: number;
  /** Error messages (first line) with how often they were seen: what a failed assertion shows. */
  errors: Record<string, number>;
  /** Per failover, ms from the SIGKILL until the workload was succeeding again. */
  recoveryMs: number[];
  /** What the module's table row measures, by name (see each workload). */
  measured: Record<string, number>;
}

/**
 * A workload runs until stopped, and tells when it succeeds again after a failover: each defines its
 * own "succeeding" (a lock granted, a book written, an entry published AND consumed...).
 */
export abstract class Workload {
  abstract readonly module: ModuleName;
  /** The longest a call may take before it counts as hung (a bounded wait included). */
  abstract readonly callBoundMs: number;
  succeeded = 0;
  failed = 0;
  longestCallMs = 0;
  readonly errors = new Map<string, number>();
  readonly recoveryMs: number[] = [];
  protected running = true;
  protected readonly loops: Array<Promise<void>> = [];
  /** Set at a kill, cleared at the first success that counts as recovery. */
  protected recoveringSince: number | undefined;
  private recoveredAt: number | undefined;

  constructor(readonly mode: Mode) {}

  /** Starts the loops; resolves once the workload has succeeded once (it is running). */
  abstract start(): Promise<void>;

  /** The failover has begun (the SIGKILL was just sent): recovery is measured from `killedAt`. */
  markKill(killedAt: number): void {
    this.recoveringSince = killedAt;
    this.recoveredAt = undefined;
  }

  /** Resolves once the workload recovered from the last kill; rejects after `timeoutMs`. */
  async waitForRecovery(timeoutMs: number): Promise<void> {
    const since = this.recoveringSince;
    const deadline = performance.now() + timeoutMs;
    while (this.recoveredAt === undefined) {
      if (performance.now() > deadline) {
        throw new Error(
          `${this.module} (${this.mode}) did not recover within ${timeoutMs} ms; errors: ${this.describeErrors()}; ` +
            `measured: ${JSON.stringify(this.measured())}${this.describeState()}`,
        );
      }
      await sleep(10);
    }
    this.recoveryMs.push(this.recoveredAt - (since as number));
  }

  /** Stops the loops and resolves once every call in flight has settled. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** After stop(): the checks that need the whole run (a stream's entries...). */
  async finish(): Promise<void> {}

  abstract measured(): Record<string, number>;

  counts(): WorkloadCounts {
    return {
      succeeded: this.succeeded,
      failed: this.failed,
      longestCallMs: Math.round(this.longestCallMs),
      errors: Object.fromEntries(this.errors),
      recoveryMs: this.recoveryMs.map((ms) => Math.round(ms)),
      measured: this.measured(),
    };
  }

  /** What a workload that did not recover was waiting for, beyond its errors. */
  protected describeState(): string {
    return '';
  }

  describeErrors(): string {
    return [...this.errors].map(([message, count]) => `${count}× ${message}`).join('; ') || 'none';
  }

  get recovering(): boolean {
    return this.recoveringSince !== undefined && this.recoveredAt === undefined;
  }

  /** A call started at `started` (performance.now()) has settled. */
  protected settled(started: number): void {
    this.longestCallMs = Math.max(this.longestCallMs, performance.now() - started);
  }

  protected noteFailure(error: unknown): Promise<void> {
    this.failed += 1;
    const message = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split(
      '\n',
    )[0];
    this.errors.set(message ?? '', (this.errors.get(message ?? '') ?? 0) + 1);
    return sleep(RETRY_PAUSE_MS);
  }

  /** A success; it ends the recovery when the call began after the kill (`started`). */
  protected noteRecoveringSuccess(started: number): void {
    if (this.recovering && started >= (this.recoveringSince as number)) this.recoveredAt = performance.now();
  }

  /** For the first success of start(). */
  protected async firstSuccess(timeoutMs = 15_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.succeeded === 0) {
      if (performance.now() > deadline)
        throw new Error(`${this.module} (${this.mode}) never succeeded; errors: ${this.describeErrors()}`);
      await sleep(10);
    }
  }
}

/**
 * Lock: `contenders` callers of one LockService on one resource, each acquiring, holding a few ms and
 * releasing. `localHandoff: false` on the module: each contender goes through Redis (as 16 processes
 * would), so a grant lost in a failover can be granted again to another contender.
 *
 * - double grants: a grant while another contender holds the lock by the in-process holder record;
 * - fencing regressions: a token not above every earlier one;
 * - leases granted again: a grant while an earlier holder's release failed (Redis gone) and its lease
 *   had not run out: the lock was lost with the old primary. Not a double grant (that holder had left
 *   its critical section), but what durability is for; a release that landed just before the kill and
 *   was replicated without its reply would count here too, so it is measured, not asserted.
 */
export class LockWorkload extends Workload {
  readonly module = 'lock';
  readonly callBoundMs: number;
  private holder: number | undefined;
  private maxToken = 0;
  private doubleGrants = 0;
  private fencingRegressions = 0;
  private leasesRegranted = 0;
  private releasesFound = { gone: 0, failed: 0 };
  /** Lease ends (Date.now() ms) of grants whose release failed. */
  private unreleased: number[] = [];

  constructor(
    mode: Mode,
    private readonly locks: LockService,
    private readonly resource: string,
    private readonly options: { contenders: number; holdMs: number; ttlMs: number; maxWaitMs: number },
  ) {
    super(mode);
    this.callBoundMs = options.maxWaitMs + 5_000;
  }

  async start(): Promise<void> {
    for (let contender = 0; contender < this.options.contenders; contender++)
      this.loops.push(this.contend(contender));
    await this.firstSuccess();
  }

  measured(): Record<string, number> {
    return {
      doubleGrants: this.doubleGrants,
      fencingRegressions: this.fencingRegressions,
      leasesRegranted: this.leasesRegranted,
      releasesFoundGone: this.releasesFound.gone,
      releasesFailed: this.releasesFound.failed,
    };
  }

  private async contend(contender: number): Promise<void> {
    const { ttlMs, maxWaitMs, holdMs } = this.options;
    while (this.running) {
      const started = performance.now();
      let lock;
      try {
        lock = await this.locks.acquire(this.resource, { ttlMs, maxWaitMs });
      } catch (error) {
        this.settled(started);
        await this.noteFailure(error);
        continue;
      }
      this.settled(started);
      if (this.holder !== undefined) this.doubleGrants += 1;
      this.holder = contender;
      if (lock.fencingToken <= this.maxToken) this.fencingRegressions += 1;
      this.maxToken = Math.max(this.maxToken, lock.fencingToken);
      const now = Date.now();
      const live = this.unreleased.filter((until) => until > now);
      if (live.length > 0) this.leasesRegranted += live.length;
      this.unreleased = [];
      this.succeeded += 1;
      this.noteRecoveringSuccess(started);
      await sleep(holdMs);
      // Out of the critical section before the release: a release hands the lock on in its script.
      this.holder = undefined;
      const releasing = performance.now();
      try {
        if (!(await lock.release())) this.releasesFound.gone += 1;
      } catch {
        this.releasesFound.failed += 1;
        this.unreleased.push(lock.expiresAt);
      }
      this.settled(releasing);
    }
  }
}

/**
 * Limiter: `workers` callers hammering one sliding-log rule (`limit` per `windowMs`, `onRedisError:
 * 'closed'`, so only Redis admits). Every admission Redis decided is kept with its server time; after
 * the run, an admission is over the limit when the `windowMs` before it (inclusive) holds more than
 * `limit` admissions. Outside a failover the log is exact, so every one of them is in a window that
 * spans one. Primary and replicas share this machine's clock, so server times compare across them.
 */
export class LimiterWorkload extends Workload {
  readonly module = 'limiter';
  readonly callBoundMs = 5_000;
  private readonly admissionsUs: number[] = [];
  private overAdmissions = 0;
  private worstWindow = 0;

  constructor(
    mode: Mode,
    private readonly limiter: RateLimiterService,
    private readonly key: string,
    private readonly rule: RateLimitRule & { limit: number; windowMs: number },
    private readonly workers = 4,
  ) {
    super(mode);
  }

  async start(): Promise<void> {
    for (let worker = 0; worker < this.workers; worker++) this.loops.push(this.hammer());
    await this.firstSuccess();
  }

  override finish(): Promise<void> {
    const times = [...this.admissionsUs].sort((a, b) => a - b);
    const windowUs = this.rule.windowMs * 1_000;
    let from = 0;
    for (let index = 0; index < times.length; index++) {
      const at = times[index] as number;
      while ((times[from] as number) <= at - windowUs) from += 1;
      const inWindow = index - from + 1;
      this.worstWindow = Math.max(this.worstWindow, inWindow);
      if (inWindow > this.rule.limit) this.overAdmissions += 1;
    }
    return Promise.resolve();
  }

  measured(): Record<string, number> {
    return {
      admissions: this.admissionsUs.length,
      overAdmissions: this.overAdmissions,
      worstWindow: this.worstWindow,
      limit: this.rule.limit,
    };
  }

  private async hammer(): Promise<void> {
    while (this.running) {
      const started = performance.now();
      try {
        const outcome = await this.limiter.consume(this.key, this.rule);
        this.settled(started);
        if (outcome.source !== 'redis') {
          // Redis did not decide (down, or in durable mode the replicas did not acknowledge in time).
          await this.noteFailure(new Error(`decided by ${outcome.source}`));
          continue;
        }
        this.succeeded += 1;
        if (outcome.allowed) {
          this.admissionsUs.push(outcome.serverTimeUs as number);
          // Recovered once Redis admits again: a refusal alone writes nothing a replica must hold.
          this.noteRecoveringSuccess(started);
        } else {
          // A refusal is cheap; pausing keeps 4 workers from taking a core of the shared machine.
          await sleep(2);
        }
      } catch (error) {
        this.settled(started);
        await this.noteFailure(error);
      }
    }
  }
}

/**
 * Streams: a producer publishing numbered entries (`{ n }`, no trimming), keeping each one whose
 * publish resolved, and a consumer group reading and acking them. After the run the stream is read
 * whole: an acknowledged entry missing from it was lost. Recovery after a kill needs both sides: a
 * publish that resolved after the kill, and that entry handled by the group (it resumed on the new
 * primary).
 */
export class StreamWorkload extends Workload {
  readonly module = 'streams';
  readonly callBoundMs = 5_000;
  private readonly acknowledged = new Set<number>();
  /** n of the first entry published after the current kill; recovered once one at or above it is handled. */
  private firstAfterKill: number | undefined;
  private handledAfterKill = false;
  private publishedAfterKillAt: number | undefined;
  private readonly handled = new Set<number>();
  private consumer?: StreamConsumer<{ n: number }>;
  private next = 1;
  private lost = 0;
  private notHandled = 0;

  constructor(
    mode: Mode,
    private readonly producer: StreamProducer,
    private readonly consumers: StreamConsumers,
    private readonly client: RedisClient,
    private readonly stream: string,
    /** The stream's key, `<prefix>:messaging:{<stream>}:stream`, read after the run. */
    private readonly streamKey: string,
  ) {
    super(mode);
  }

  override markKill(killedAt: number): void {
    super.markKill(killedAt);
    this.firstAfterKill = undefined;
    this.handledAfterKill = false;
    this.publishedAfterKillAt = undefined;
  }

  async start(): Promise<void> {
    this.consumer = await this.consumers.start<{ n: number }>({
      stream: this.stream,
      group: 'failover',
      concurrency: 4,
      blockMs: 200,
      handler: (message) => this.onMessage(message.data.n),
    });
    this.loops.push(this.produce());
    await this.firstSuccess();
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.consumer?.stop();
  }

  override async finish(): Promise<void> {
    const present = new Set<number>();
    let cursor = '-';
    for (;;) {
      const page = (await this.client.xrange(this.streamKey, cursor, '+', 'COUNT', 1_000)) as Array<
        [string, string[]]
      >;
      for (const [, fields] of page) {
        const data = fields[fields.indexOf('data') + 1];
        if (data !== undefined) present.add((JSON.parse(data) as { n: number }).n);
      }
      if (page.length < 1_000) break;
      cursor = `(${page.at(-1)?.[0] as string}`;
    }
    for (const n of this.acknowledged) {
      if (!present.has(n)) this.lost += 1;
      else if (!this.handled.has(n)) this.notHandled += 1;
    }
  }

  measured(): Record<string, number> {
    return {
      acknowledged: this.acknowledged.size,
      lost: this.lost,
      handled: this.handled.size,
      acknowledgedNotHandled: this.notHandled,
    };
  }

  private onMessage(n: number): Promise<void> {
    this.handled.add(n);
    if (this.recovering && this.firstAfterKill !== undefined && n >= this.firstAfterKill) {
      this.handledAfterKill = true;
      this.noteRecoveringSuccess(this.publishedAfterKillAt as number);
    }
    return Promise.resolve();
  }

  private async produce(): Promise<void> {
    while (this.running) {
      const n = this.next++;
      const started = performance.now();
      try {
        await this.producer.publish(this.stream, 'failover.entry', { n }, { maxLen: 0 });
        this.settled(started);
        this.acknowledged.add(n);
        this.succeeded += 1;
        if (this.recovering && this.firstAfterKill === undefined && started >= this.killedAtOrZero()) {
          this.firstAfterKill = n;
          this.publishedAfterKillAt = started;
        }
        // About 250 entries a second per mode: load, without taking a core of the shared machine.
        await sleep(4);
      } catch (error) {
        this.settled(started);
        await this.noteFailure(error);
      }
    }
  }

  private killedAtOrZero(): number {
    return this.recoveringSince ?? 0;
  }
}

/**
 * Order book: one writer applying deltas with consecutive sequences after a snapshot, and a reader
 * polling the top. The writer knows the last sequence the store acknowledged (a write that resolved);
 * when the book it finds after a failover is below it (a `SequenceGapError` naming a lower `current`,
 * or no book at all), acknowledged writes were rolled back, and it recovers as documented: a new
 * snapshot above the book. A write whose outcome is unknown (timeout, durability error) is retried
 * with the same sequence; `StaleSequenceError` then says it had landed.
 */
export class OrderBookWorkload extends Workload {
  readonly module = 'orderbook';
  readonly callBoundMs = 5_000;
  private next = 1;
  private lastAcknowledged = 0;
  private needsSnapshot = true;
  private rollbacks = 0;
  private acknowledgedLost = 0;
  private snapshots = 0;
  private readerMax = 0;
  private readerRollbacks = 0;

  constructor(
    mode: Mode,
    private readonly books: OrderBookStore,
    private readonly symbol: string,
  ) {
    super(mode);
  }

  async start(): Promise<void> {
    this.loops.push(this.write(), this.read());
    await this.firstSuccess();
  }

  measured(): Record<string, number> {
    return {
      lastAcknowledged: this.lastAcknowledged,
      rollbacks: this.rollbacks,
      acknowledgedLost: this.acknowledgedLost,
      snapshots: this.snapshots,
      readerSawRollback: this.readerRollbacks,
    };
  }

  private async write(): Promise<void> {
    while (this.running) {
      const sequence = this.next;
      const started = performance.now();
      try {
        if (this.needsSnapshot) {
          await this.books.saveSnapshot(this.symbol, {
            sequence,
            bids: [{ price: '100', quantity: '1' }],
            asks: [{ price: '101', quantity: '1' }],
          });
          this.snapshots += 1;
          this.needsSnapshot = false;
        } else {
          await this.books.applyDelta(this.symbol, {
            sequence,
            bids: [{ price: '100', quantity: String(1 + (sequence % 9)) }],
            asks: [],
          });
        }
        this.settled(started);
        this.lastAcknowledged = sequence;
        this.next = sequence + 1;
        this.succeeded += 1;
        this.noteRecoveringSuccess(started);
        await sleep(2);
      } catch (error) {
        this.settled(started);
        if (error instanceof SequenceGapError || error instanceof BookNotFoundError) {
          const current = error instanceof SequenceGapError ? error.current : 0;
          if (current < this.lastAcknowledged) {
            this.rollbacks += 1;
            this.acknowledgedLost += this.lastAcknowledged - current;
          }
          this.needsSnapshot = true;
        } else if (error instanceof StaleSequenceError) {
          // The earlier attempt of this sequence landed; whether a replica has it is unknown.
          this.next = Math.max(sequence, error.current) + 1;
          continue;
        }
        await this.noteFailure(error);
      }
    }
  }

  private async read(): Promise<void> {
    while (this.running) {
      try {
        const top = await this.books.getTop(this.symbol);
        if (top !== null) {
          if (top.sequence < this.readerMax) this.readerRollbacks += 1;
          this.readerMax = Math.max(this.readerMax, top.sequence);
        }
      } catch {
        // The writer's errors tell the story; the reader only watches the sequence.
      }
      await sleep(5);
    }
  }
}

/** How long the cache loop waits for the reader to drop its copy of a write (its invalidation to arrive). */
const INVALIDATION_WAIT_MS = 250;
/** How long an invalidation not there after INVALIDATION_WAIT_MS may still take to count as late, not missed. */
const LATE_INVALIDATION_MS = 3_000;

/**
 * Cache: a writer instance storing increasing versions of one key (CacheService.set), a reader
 * instance with L1 on (its own connection, its own invalidation subscriber, L1 trusted for two
 * minutes), and L2 read directly. One loop, in order: set version v; wait until the reader's L1 no
 * longer holds the key (its invalidation arrived; at most 250 ms); read L2 directly; read through the
 * reader. A read older than what L2 holds is stale when its invalidation was missed; one that drops
 * the reader's copy within 3 s after all is late (counted apart). Waiting for the drop rather than
 * racing it keeps an invalidation still in flight from counting as stale.
 *
 * Recovery after a kill: a version written after the kill reached L2, its invalidation dropped the
 * reader's copy, and the reader returned that version. Stale reads are counted apart before and after
 * it: before it, the reader's subscriber may not be listening yet while writes already land. On
 * Sentinel (and on the Cluster when the channel's master dies) that subscriber reconnects and flushes
 * L1 (counted by its resubscriptions metric); on a Cluster a shard subscriber may sit on a replica,
 * which is promoted under it, and then it never needed to.
 */
export class CacheWorkload extends Workload {
  readonly module = 'cache';
  readonly callBoundMs = 5_000;
  private version = 0;
  private staleAfterRecovery = 0;
  private staleWhileRecovering = 0;
  private invalidationsLate = 0;
  private reads = 0;
  private last: Record<string, number | boolean | undefined> = {};

  constructor(
    private readonly writer: CacheService,
    private readonly reader: CacheService,
    private readonly readerMetrics: MetricsService,
    private readonly client: RedisClient,
    private readonly key: string,
    /** The key's Redis key, `<prefix>:cache:default:<key>`, read directly. */
    private readonly redisKey: string,
  ) {
    super('default');
  }

  async start(): Promise<void> {
    this.loops.push(this.run());
    await this.firstSuccess();
  }

  measured(): Record<string, number> {
    return {
      reads: this.reads,
      staleReadsAfterRecovery: this.staleAfterRecovery,
      staleReadsWhileRecovering: this.staleWhileRecovering,
      invalidationsLate: this.invalidationsLate,
      l1Flushes: this.flushes,
    };
  }

  /** Set once the loops stopped: how often the reader's subscriber listened again and flushed L1. */
  private flushes = 0;

  protected override describeState(): string {
    return `; last: ${JSON.stringify(this.last)}`;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = performance.now();
      const version = ++this.version;
      const held = this.reader.l1Usage.entries > 0;
      let dropped = false;
      let inL2: number | undefined;
      let read: number | undefined;
      try {
        // set() never rejects for Redis trouble (the L2 write is skipped); the direct read says if it landed.
        await this.writer.set(this.key, { version });
        dropped = await this.readerDropped();
        inL2 = versionIn(await this.client.get(this.redisKey));
        read = (await this.reader.get<{ version: number }>(this.key))?.version;
        this.settled(started);
      } catch (error) {
        this.settled(started);
        await this.noteFailure(error);
        continue;
      }
      this.reads += 1;
      this.last = { version, held, dropped, inL2, read };
      if (inL2 !== undefined && read !== undefined && read < inL2) {
        // Not dropped in time: an invalidation still on its way (a loaded machine, a shard subscriber on
        // a replica) is late, not missed; it is stale only if it never comes.
        if (!dropped && (await this.readerDropped(LATE_INVALIDATION_MS))) this.invalidationsLate += 1;
        else if (this.recovering) this.staleWhileRecovering += 1;
        else this.staleAfterRecovery += 1;
      }
      if (inL2 === version && read === version) {
        this.succeeded += 1;
        if (held && dropped) this.noteRecoveringSuccess(started);
      }
      await sleep(2);
    }
    this.flushes = await resubscriptions(this.readerMetrics);
  }

  /** Whether the reader's L1 let go of the key (it holds no other) within `waitMs`. */
  private async readerDropped(waitMs = INVALIDATION_WAIT_MS): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    while (this.reader.l1Usage.entries > 0) {
      if (performance.now() > deadline) return false;
      await sleep(1);
    }
    return true;
  }
}

const RESUBSCRIPTIONS = 'redkit_cache_invalidation_resubscriptions_total';

/** How often the reader's invalidation subscriber listened again (and so flushed L1). */
async function resubscriptions(metrics: MetricsService): Promise<number> {
  const text = await metrics.metrics();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${RESUBSCRIPTIONS} `) || line.startsWith(`${RESUBSCRIPTIONS}{`))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** The version in a raw L2 entry (`<freshUntil>:<staleUntil>:<JSON>`), or undefined. */
function versionIn(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const match = /"version":(\d+)/.exec(raw);
  return match ? Number(match[1]) : undefined;
}
