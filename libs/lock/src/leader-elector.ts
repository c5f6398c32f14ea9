import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import {
  DedicatedSubscriber,
  RedisPermissionError,
  RedkitLogger,
  type RedisClient,
  type RedisKeyspace,
} from '@redkit/redis';

import { campaignScript, renewLeaseScript, resignScript } from './leader-scripts.js';
import type { LeaderMetrics } from './leader.metrics.js';
import { LockOptionsError } from './lock.errors.js';
import { checkMilliseconds } from './lock-options.validator.js';

/** When a term began and until when this process could have acted in it, by the Redis server's clock. */
export interface LeaderTermWindow {
  term: number;
  /** Server ms when the term was won. */
  startedAt: number;
  /**
   * Server ms after which this process no longer acted as leader: its resignation, or its last
   * successful renewal plus `renewDeadlineMs` (the local deadline, read on the server's clock).
   */
  endedBy: number;
}

/** Timings and callbacks of one election. */
export interface LeaderElectionOptions {
  /** How long a lease lasts without renewal; a follower takes over once it lapses. Default 15 000. */
  leaseMs?: number;
  /**
   * How long the leader keeps acting without a successful renewal (counted from the renewal's
   * request). Must be below `leaseMs`, so it stops before anyone else can be elected. Default 10 000.
   */
  renewDeadlineMs?: number;
  /** How often the leader renews and a follower tries to take over. Default 2 000. */
  retryPeriodMs?: number;
  /** How others see this instance. Default `<hostname>:<pid>:<random>`, unique per elector. */
  instance?: string;
  /**
   * This instance won `term` (a fencing token: larger than every term before). `signal` aborts the
   * moment leadership ends locally. An error it throws is logged; leadership is kept.
   */
  onElected?(term: number, signal: AbortSignal): void | Promise<void>;
  /** Leadership of `term` ended (only ever after its onElected). */
  onRevoked?(window: LeaderTermWindow, reason: string): void;
  /** The leader changed, as this instance saw it: another instance, itself, or nobody (null). */
  onNewLeader?(instance: string | null, term: number): void;
}

/** What an elector needs from the LockService that made it. */
export interface LeaderElectorContext {
  client: RedisClient;
  keyspace: RedisKeyspace;
  metrics: LeaderMetrics;
  /**
   * `error`, or the RedisPermissionError it stands for when Redis refused the ACL user, recorded on
   * the connection (logged once, reported by its health).
   */
  noteRefusal(error: unknown): unknown;
}

/** client-go's rule: jitter of up to 20 % of the retry period must still fit in the deadline. */
const JITTER_FACTOR = 1.2;

/** The election's state, as `status()` reports it. */
export type LeaderState = 'stopped' | 'follower' | 'leader';

/** What `LeaderElector.status()` reports. */
export interface LeaderStatus {
  election: string;
  state: LeaderState;
  instance: string;
  /** The leader this instance saw last (itself while leading), or null. */
  leader: string | null;
  /** The term while leading, else 0. */
  term: number;
  /** Server ms when the term began, while leading, else 0. */
  since: number;
}

/**
 * Leader election on one Redis key: the leader holds a lease (`SET NX PX` of `"<term> <instance>"`)
 * and renews it by compare-and-`PEXPIRE` every `retryPeriodMs`; followers try to take a lapsed
 * lease as often, and at once when a leader resigns (a notice on the election's channel; polling
 * is the fallback).
 *
 * What it guarantees, and how:
 *
 * - **Terms strictly increase** across every instance and any gap; pass `term` as a fencing token
 *   (`FencedStore`, `defineFencedScript`) where a stale leader must not write.
 * - **The leader stops acting before anyone else can lead.** It counts `renewDeadlineMs` (below
 *   `leaseMs`) from the request of its last successful renewal; past it, `isLeader()` is false and
 *   the term's signal aborts, even when the event loop was blocked or the process paused and no
 *   timer could fire. Others can only be elected once the lease lapsed on the server, `leaseMs`
 *   after that renewal was applied. (Assumes clocks that run at the same rate; a stalled process
 *   can still act late in code that checked `isLeader()` before it stalled: fence such writes.)
 * - **No silent re-acquire.** A renewal that finds another value (or none) ends the term; winning
 *   again starts a new term with a new `onElected`.
 * - **Events in order, state first.** `isLeader()` has changed before `onElected` / `onRevoked` run;
 *   `onRevoked` only follows an `onElected`.
 * - **Graceful hand-over.** `stop()` ends the term locally, deletes the lease if it is still this
 *   instance's, and announces the vacancy, so a follower takes over within moments.
 *
 * Made by `LockService.election(name, options)`; `LeaderElectionModule` runs one for a Nest app.
 */
export class LeaderElector {
  readonly instance: string;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly keys: [string, string];
  private readonly channel: string;
  private readonly subscriber: DedicatedSubscriber;
  private readonly logger: RedkitLogger;
  private state: LeaderState = 'stopped';
  private term = 0;
  private value = '';
  private controller?: AbortController;
  /** performance.now() after which the current term may not act (its renew deadline). */
  private deadline = 0;
  private termStartedAt = 0;
  private lastRenewedAt = 0;
  private timer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private leader: string | null = null;
  private busy = false;
  /** One warning per outage: set by a failed campaign or renewal, cleared by the next success. */
  private warned = false;

  constructor(
    /** The election's name, also the hash tag of its keys. */
    readonly name: string,
    private readonly options: LeaderElectionOptions,
    private readonly context: LeaderElectorContext,
  ) {
    if (typeof options !== 'object' || options === null) {
      throw new LockOptionsError('election', 'options must be an object');
    }
    this.leaseMs = checkMilliseconds('leaseMs', options.leaseMs ?? 15_000);
    this.renewDeadlineMs = checkMilliseconds('renewDeadlineMs', options.renewDeadlineMs ?? 10_000);
    this.retryPeriodMs = checkMilliseconds('retryPeriodMs', options.retryPeriodMs ?? 2_000);
    if (!(this.leaseMs > this.renewDeadlineMs)) {
      throw new LockOptionsError(
        'leaseMs',
        `must exceed renewDeadlineMs (${this.renewDeadlineMs}), so the leader stops before others can be elected; got ${this.leaseMs}`,
      );
    }
    if (!(this.renewDeadlineMs > JITTER_FACTOR * this.retryPeriodMs)) {
      throw new LockOptionsError(
        'renewDeadlineMs',
        `must exceed 1.2 × retryPeriodMs (${JITTER_FACTOR * this.retryPeriodMs}), so a renewal can be retried before the deadline; got ${this.renewDeadlineMs}`,
      );
    }
    for (const callback of ['onElected', 'onRevoked', 'onNewLeader'] as const) {
      if (options[callback] !== undefined && typeof options[callback] !== 'function') {
        throw new LockOptionsError(callback, 'must be a function');
      }
    }
    this.instance = options.instance ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    if (typeof this.instance !== 'string' || this.instance.length === 0 || this.instance.length > 200) {
      throw new LockOptionsError('instance', 'must be a string of 1 to 200 characters');
    }
    const base = context.keyspace.tagged(name);
    this.keys = [`${base}:lease`, `${base}:fence`];
    this.channel = `${base}:vacated`;
    this.logger = new RedkitLogger(`LeaderElector ${name}`);
    this.subscriber = new DedicatedSubscriber({
      client: context.client,
      role: 'leader-vacancies',
      channels: [this.channel],
      onMessage: () => this.onVacancy(),
      onError: (error) =>
        this.logger.warn(`vacancy subscriber: ${describe(error)} (polling every ${this.retryPeriodMs} ms)`),
      startTimeoutMs: 2_000,
    });
  }

  /**
   * True while this instance leads and its renew deadline has not passed. Synchronous and exact:
   * it reads the clock, and ends the term at once if the deadline passed while no timer could run.
   */
  isLeader(): boolean {
    if (this.state !== 'leader') return false;
    if (performance.now() < this.deadline) return true;
    this.revoke('its renew deadline passed');
    return false;
  }

  /** The current term while leading, else 0. */
  get currentTerm(): number {
    return this.isLeader() ? this.term : 0;
  }

  /** The term's signal while leading: it aborts when leadership ends. */
  get signal(): AbortSignal | undefined {
    return this.isLeader() ? this.controller?.signal : undefined;
  }

  /**
   * For health checks: state, the leader seen last, and while leading the term and since when
   * (server ms).
   */
  status(): LeaderStatus {
    const leading = this.isLeader();
    return {
      election: this.name,
      state: this.state,
      instance: this.instance,
      leader: leading ? this.instance : this.leader,
      term: leading ? this.term : 0,
      since: leading ? this.termStartedAt : 0,
    };
  }

  /** Joins the election: listens for vacancies (bounded wait) and campaigns at once. */
  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.state = 'follower';
    this.context.metrics.leading(this.name, false);
    await this.subscriber.start().catch((error: unknown) => {
      this.logger.warn(
        `vacancy subscriber not listening: ${describe(error)} (polling every ${this.retryPeriodMs} ms)`,
      );
    });
    if (this.state === 'follower') this.schedule(0);
  }

  /**
   * Leaves the election: ends the term locally (signal, onRevoked), then deletes the lease if it is
   * still this instance's and announces the vacancy. Never throws; a lease it could not delete
   * lapses after `leaseMs`.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const value = this.value;
    // Ends locally first: nothing acts as leader from here on, and nothing campaigns again.
    const window = this.state === 'leader' ? this.endTerm('stopped') : undefined;
    this.state = 'stopped';
    clearTimeout(this.timer);
    if (window !== undefined) {
      try {
        const resignedAt = await resignScript.run(this.context.client, [this.keys[0]], [value, this.channel]);
        if (resignedAt > 0) window.endedBy = Math.min(window.endedBy, resignedAt);
      } catch (error) {
        if (!this.refused(error))
          this.logger.warn(`resigning failed: ${describe(error)}; the lease lapses in ${this.leaseMs} ms`);
      }
      this.notifyRevoked(window, 'stopped');
    }
    await this.subscriber.stop().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.state === 'stopped') return;
    const jitter = delayMs === 0 ? 0 : Math.floor(Math.random() * (JITTER_FACTOR - 1) * this.retryPeriodMs);
    this.timer = setTimeout(() => void this.tick(), delayMs + jitter);
  }

  private onVacancy(): void {
    if (this.state === 'follower' && !this.busy) this.schedule(0);
  }

  /** One step: a follower campaigns, the leader renews. Every error is caught here. */
  private async tick(): Promise<void> {
    if (this.busy || this.state === 'stopped') return;
    this.busy = true;
    try {
      if (this.state === 'leader') await this.renew();
      else await this.campaign();
    } finally {
      this.busy = false;
    }
  }

  private async campaign(): Promise<void> {
    const sentAt = performance.now();
    let reply: [string | number, string | number, number?];
    try {
      reply = await campaignScript.run(this.context.client, this.keys, [this.instance, this.leaseMs]);
    } catch (error) {
      this.context.metrics.campaignFailed(this.name);
      if (!this.refused(error))
        this.warnOnce(`campaign failed: ${describe(error)} (retrying every ${this.retryPeriodMs} ms)`);
      this.schedule(this.retryPeriodMs);
      return;
    }
    this.warned = false;
    const term = Number(reply[0]);
    if (this.state === 'stopped' && term > 0) {
      // Stopped while this campaign was in flight, and it won: give the lease straight back.
      const value = `${term} ${this.instance}`;
      await resignScript
        .run(this.context.client, [this.keys[0]], [value, this.channel])
        .catch((error: unknown) => this.context.noteRefusal(error));
      return;
    }
    if (this.state !== 'follower') return;
    if (term > 0) {
      this.elected(term, Number(reply[1]), sentAt);
      return;
    }
    const [termText, holder] = splitValue(String(reply[1]));
    this.observe(holder, Number(termText));
    // Look again when the lease would lapse, if sooner than the next period.
    const pttl = Number(reply[2] ?? 0);
    this.schedule(pttl > 0 && pttl < this.retryPeriodMs ? pttl + 1 : this.retryPeriodMs);
  }

  private elected(term: number, serverMs: number, sentAt: number): void {
    // State first, then events (n8n #8401): isLeader() is already true inside onElected.
    this.state = 'leader';
    this.term = term;
    this.value = `${term} ${this.instance}`;
    this.termStartedAt = serverMs;
    this.lastRenewedAt = serverMs;
    this.controller = new AbortController();
    this.armDeadline(sentAt);
    this.context.metrics.leading(this.name, true);
    this.schedule(this.retryPeriodMs);
    this.observe(this.instance, term);
    const signal = this.controller.signal;
    try {
      const pending = this.options.onElected?.(term, signal);
      if (pending instanceof Promise) {
        pending.catch((error: unknown) => this.logger.error(`onElected(${term}) failed: ${describe(error)}`));
      }
    } catch (error) {
      this.logger.error(`onElected(${term}) failed: ${describe(error)}`);
    }
  }

  private async renew(): Promise<void> {
    const sentAt = performance.now();
    const term = this.term;
    let serverMs: number;
    try {
      serverMs = await renewLeaseScript.run(this.context.client, [this.keys[0]], [this.value, this.leaseMs]);
      this.context.metrics.renewed(this.name, (performance.now() - sentAt) / 1_000);
      this.warned = false;
    } catch (error) {
      // Keep trying until the deadline (its timer ends the term if none gets through).
      const refused = this.refused(error);
      if (this.state === 'leader' && this.term === term) {
        if (!refused) this.warnOnce(`renewal failed: ${describe(error)} (retrying until the renew deadline)`);
        this.schedule(Math.min(this.retryPeriodMs, Math.max(1, this.deadline - performance.now())));
      }
      return;
    }
    if (this.state !== 'leader' || this.term !== term || !this.isLeader()) return;
    if (serverMs === 0) {
      this.revoke('the lease is no longer this instance’s');
      return;
    }
    this.lastRenewedAt = serverMs;
    this.armDeadline(sentAt);
    this.schedule(this.retryPeriodMs);
  }

  /** The term may act until `renewDeadlineMs` after the request of its last successful renewal. */
  private armDeadline(sentAt: number): void {
    this.deadline = sentAt + this.renewDeadlineMs;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(
      () => this.isLeader(),
      Math.max(0, this.deadline - performance.now()) + 1,
    );
  }

  /** Ends the term locally and reports it; this instance campaigns again a period later. */
  private revoke(reason: string): void {
    if (this.state !== 'leader') return;
    this.notifyRevoked(this.endTerm(reason), reason);
    this.schedule(this.retryPeriodMs);
  }

  /** State first, then the signal: from here on nothing in this process acts as leader. */
  private endTerm(reason: string): LeaderTermWindow {
    this.state = 'follower';
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.timer);
    this.leader = null;
    this.context.metrics.leading(this.name, false);
    this.controller?.abort(new Error(`leadership of "${this.name}" (term ${this.term}) ended: ${reason}`));
    return {
      term: this.term,
      startedAt: this.termStartedAt,
      endedBy: this.lastRenewedAt + this.renewDeadlineMs,
    };
  }

  private notifyRevoked(window: LeaderTermWindow, reason: string): void {
    try {
      this.options.onRevoked?.(window, reason);
    } catch (error) {
      this.logger.error(`onRevoked(${window.term}) failed: ${describe(error)}`);
    }
  }

  /**
   * Whether `error` is a refusal for the ACL user, then recorded on the connection (which logs it
   * once and reports it in health), so that it is not warned about here too.
   */
  private refused(error: unknown): boolean {
    return this.context.noteRefusal(error) instanceof RedisPermissionError;
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(message);
  }

  private observe(instance: string | null, term: number): void {
    if (instance === this.leader) return;
    this.leader = instance;
    try {
      this.options.onNewLeader?.(instance, term);
    } catch (error) {
      this.logger.error(`onNewLeader failed: ${describe(error)}`);
    }
  }
}

function splitValue(value: string): [string, string | null] {
  const space = value.indexOf(' ');
  return space < 0 ? ['0', null] : [value.slice(0, space), value.slice(space + 1)];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
