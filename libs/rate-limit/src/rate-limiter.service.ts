import { MetricsService } from '@redkit/metrics';
import {
  encodeKeyPart,
  REDIS_DEFAULTS,
  RedkitLogger,
  scanKeys,
  type KeyPartOptions,
  type RedisClient,
  type RedisConnection,
  type ScriptArgument,
} from '@redkit/redis';

import { InMemoryRateLimiter } from './in-memory-rate-limiter.js';
import { DurableAdmissions } from './rate-limit-durability.js';
import { RefusalMemo } from './refusal-memo.js';
import { RateLimitCheckBatcher } from './rate-limit-check.batcher.js';
import { MAX_LIMITS_PER_CHECK, RATE_LIMIT_KEYSPACE } from './rate-limit.constants.js';
import { RateLimitOptionsError, RateLimitUnreplicatedError } from './rate-limit.errors.js';
import { RateLimitMetrics, type LimitOutcomes } from './rate-limit.metrics.js';
import { rateLimitTracer, traceCheck } from './rate-limit.tracing.js';
import type { RateLimitModuleOptions, RateLimitRule } from './rate-limit-options.interface.js';
import {
  compilePolicy,
  resolveRateLimitOptions,
  type RateLimitPolicy,
  type ResolvedRateLimitOptions,
} from './rate-limit-options.validator.js';
import {
  admissionStamp,
  checkScript,
  refundScript,
  singleLimitScript,
  REPLY_HEADER,
  REPLY_PER_LIMIT,
  type CheckReply,
} from './rate-limit-scripts.js';

/**
 * Who decided: Redis; the instance alone while Redis could not answer, or in durable mode did not
 * get an admission acknowledged by enough replicas in time (`fail-open`, `fail-closed`,
 * `insurance`); or `refused-locally`, a refusal Redis gave moments ago that still holds
 * (`localRefusalMs`), served without a round trip.
 */
export type RateLimitSource = 'redis' | 'fail-open' | 'fail-closed' | 'insurance' | 'refused-locally';

/** The state of one limit after a check. */
export interface RateLimitResult {
  /** The limit's name. */
  name: string;
  /** Whether this request was admitted (for one limit of a combined check: whether the whole request was). */
  allowed: boolean;
  limit: number;
  windowMs: number;
  /** Units left in the window after this request (0 when refused and none are left). */
  remaining: number;
  /** Milliseconds until the limit is wholly available again (nothing counted in its window). */
  resetMs: number;
  /** When refused by this limit: milliseconds until a request of the same cost would pass it; else 0. */
  retryAfterMs: number;
}

/** The outcome of a one-limit `consume` or `peek`. */
export interface RateLimitOutcome extends RateLimitResult {
  source: RateLimitSource;
  /** The Redis server's time of the decision, in microseconds since the epoch (when Redis decided). */
  serverTimeUs?: number;
}

/** The outcome of a check of several limits: one decision for all of them. */
export interface RateLimitDecision {
  /** True only when every limit allowed the request; then every limit was charged, else none. */
  allowed: boolean;
  /** When refused: the longest wait any refusing limit asks for, in ms; else 0. */
  retryAfterMs: number;
  /** One result per limit, in the order given. */
  results: RateLimitResult[];
  source: RateLimitSource;
  /** The Redis server's time of the decision, in microseconds since the epoch (when Redis decided). */
  serverTimeUs?: number;
}

/** One limit applied to one identity, for {@link RateLimiterService.check}. */
export interface RateLimitCheck {
  /** The client identity (user id, address, API key...). Any string; it is encoded, and hashed when long. */
  key: string;
  limit: RateLimitRule | RateLimitPolicy;
}

/** What a remembered refusal of these limits is keyed by: each limit's Redis key, limit, window and cost. */
function refusalKey(keys: readonly string[], policies: readonly RateLimitPolicy[]): string {
  let key = '';
  for (let index = 0; index < keys.length; index += 1) {
    key += (keys[index] as string) + (policies[index] as RateLimitPolicy).refusalSuffix;
  }
  return key;
}

/** The one-limit script of a policy's algorithm (same ARGV and reply as the combined check). */
function singleScript(policy: RateLimitPolicy) {
  return singleLimitScript(policy.args[0] as string);
}

/** The span attribute naming a one-limit outcome's limit. */
function limitName(outcome: RateLimitOutcome): string[] {
  return [outcome.name];
}

/** The span attribute naming the limits of a decision. */
function limitNames(decision: RateLimitDecision): string[] {
  return decision.results.map((result) => result.name);
}

/** Retry-After given by fail-closed limits while Redis cannot answer. */
const FAIL_CLOSED_RETRY_MS = 1_000;
/** At most one warning per this long while Redis keeps failing. */
const WARN_EVERY_MS = 30_000;

/**
 * Sliding-window rate limits in Redis: every check is one Lua script, one round trip, on the server's
 * clock; several limits of one request are decided together, and a refused request is charged to none
 * of them. See the README for each algorithm's guarantee.
 *
 * @example
 * const result = await limiter.consume(`api-key:${apiKey}`, { limit: 100, windowMs: 60_000 });
 * if (!result.allowed) throw new TooManyRequests(result.retryAfterMs);
 */
export class RateLimiterService {
  private readonly logger = new RedkitLogger('RateLimit');
  private readonly client: RedisClient;
  private readonly options: ResolvedRateLimitOptions;
  private readonly metrics: RateLimitMetrics;
  private readonly policies = new WeakMap<object, RateLimitPolicy>();
  private readonly compiled = new WeakSet<RateLimitPolicy>();
  private readonly outcomes = new WeakMap<RateLimitPolicy, LimitOutcomes>();
  private readonly partOptions: KeyPartOptions;
  private readonly insurance?: InMemoryRateLimiter;
  private readonly isCluster: boolean;
  /** Coalesces the checks of one event-loop turn (standalone servers, unless `coalesce: false`). */
  private readonly batcher?: RateLimitCheckBatcher;
  /** Durable mode: admissions followed by WAIT (undefined when `durability` is off). */
  private readonly durable?: DurableAdmissions;
  /** Refusals Redis just gave, served again without a round trip while they still hold. */
  private readonly refusals: RefusalMemo;
  /** `<prefix>:rate-limit:{`, the start of every key. */
  private readonly base: string;
  private lastWarning = 0;
  /** Told of each refusal; see {@link onRefusal}. */
  private readonly refusalListeners = new Set<(identity: string, limit: string) => void>();

  constructor(
    private readonly connection: RedisConnection,
    options: RateLimitModuleOptions = {},
    metrics: MetricsService = new MetricsService(),
  ) {
    // (A stand-in connection without options only serves option checks that fail before it is used.)
    this.options = resolveRateLimitOptions(
      options,
      connection.options?.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    );
    this.client = connection.client;
    this.isCluster = connection.isCluster;
    this.base = `${connection.keyspace(RATE_LIMIT_KEYSPACE).base}{`;
    this.partOptions = { maxPartBytes: this.options.maxIdentifierBytes, onTooLong: 'hash' };
    this.metrics = new RateLimitMetrics(metrics);
    const { insurance } = this.options;
    if (insurance) this.insurance = new InMemoryRateLimiter(insurance.share, insurance.maxKeys);
    const { durability } = this.options;
    if (durability !== undefined) this.durable = new DurableAdmissions(this.client, durability, this.metrics);
    if (this.options.coalesce && !this.isCluster)
      this.batcher = new RateLimitCheckBatcher(this.client, this.durable);
    this.refusals = new RefusalMemo(this.options.localRefusalMs);
  }

  /** The module's options, resolved (for the guard). */
  get settings(): Readonly<ResolvedRateLimitOptions> {
    return this.options;
  }

  /**
   * Checks a limit once and returns it compiled. Passing the same rule object again is free too
   * (compiled rules are remembered per object), but a policy makes the intent plain.
   * @throws RateLimitOptionsError naming the bad field.
   */
  policy(rule: RateLimitRule | RateLimitPolicy): RateLimitPolicy {
    if (this.compiled.has(rule as RateLimitPolicy)) return rule as RateLimitPolicy;
    let policy = this.policies.get(rule);
    if (policy === undefined) {
      policy = compilePolicy(rule, this.options);
      this.policies.set(rule, policy);
      this.compiled.add(policy);
    }
    return policy;
  }

  /** The Redis key of one limit of one identity: `<prefix>:rate-limit:{<encoded key>}:<name>:<l|c>`. */
  redisKey(key: string, rule: RateLimitRule | RateLimitPolicy): string {
    return this.base + encodeKeyPart(key, this.partOptions) + '}' + this.policy(rule).keySuffix;
  }

  /**
   * Admits one request of `rule.cost` units for `key` if the limit allows it, and charges it; a
   * refused request is charged nothing.
   */
  consume(key: string, rule: RateLimitRule | RateLimitPolicy): Promise<RateLimitOutcome> {
    const policy = this.policy(rule);
    if (rateLimitTracer.enabled)
      return traceCheck(this.connection, 'consume', () => this.checkOne(key, policy, true), limitName);
    return this.checkOne(key, policy, true);
  }

  /** What `consume` would answer now, without charging anything. */
  peek(key: string, rule: RateLimitRule | RateLimitPolicy): Promise<RateLimitOutcome> {
    const policy = this.policy(rule);
    if (rateLimitTracer.enabled)
      return traceCheck(this.connection, 'peek', () => this.checkOne(key, policy, false), limitName);
    return this.checkOne(key, policy, false);
  }

  /** Several limits of one identity, decided together: see {@link check}. */
  consumeAll(key: string, rules: ReadonlyArray<RateLimitRule | RateLimitPolicy>): Promise<RateLimitDecision> {
    return this.check(rules.map((limit) => ({ key, limit })));
  }

  /**
   * Checks every limit of one request in one script call and charges all of them only when all
   * allow it. Limits of different identities share a script call on a standalone server; on a
   * Cluster each identity is a hash tag of its own, so each identity's limits are one call (in
   * parallel), and what one identity charged is refunded when another refuses (see the README).
   */
  check(checks: readonly RateLimitCheck[], options: { peek?: boolean } = {}): Promise<RateLimitDecision> {
    if (rateLimitTracer.enabled)
      return traceCheck(this.connection, 'check', () => this.decide(checks, options), limitNames);
    return this.decide(checks, options);
  }

  /** {@link check} itself. */
  private async decide(
    checks: readonly RateLimitCheck[],
    { peek = false }: { peek?: boolean },
  ): Promise<RateLimitDecision> {
    if (checks.length === 0) return { allowed: true, retryAfterMs: 0, results: [], source: 'redis' };
    if (checks.length > MAX_LIMITS_PER_CHECK) {
      throw new RateLimitOptionsError(
        'limits',
        `at most ${MAX_LIMITS_PER_CHECK} limits per check, got ${checks.length}`,
      );
    }
    const keys: string[] = [];
    const policies: RateLimitPolicy[] = [];
    const tags: string[] = [];
    for (const { key, limit } of checks) {
      const policy = this.policy(limit);
      const tag = encodeKeyPart(key, this.partOptions);
      policies.push(policy);
      tags.push(tag);
      keys.push(this.base + tag + '}' + policy.keySuffix);
    }
    const started = performance.now();
    const memoKey = !peek && this.refusals.enabled ? refusalKey(keys, policies) : undefined;
    if (memoKey !== undefined) {
      const recalled = this.refusals.recall(memoKey, started);
      if (recalled !== undefined)
        return this.refusedLocally(
          recalled,
          policies,
          checks.map((check) => check.key),
        );
    }
    let replies: Array<{ indexes: number[]; reply: CheckReply }>;
    try {
      replies = await this.runGroups(keys, policies, tags, !peek);
    } catch (error) {
      return this.fallback(keys, policies, !peek, error);
    }
    this.metrics.checkSeconds.observe((performance.now() - started) / 1_000);
    const results: RateLimitResult[] = new Array(checks.length);
    let allowed = true;
    let retryAfterMs = 0;
    let serverTimeUs = 0;
    for (const { indexes, reply } of replies) {
      if (reply[0] !== 1) allowed = false;
      serverTimeUs = Math.max(serverTimeUs, reply[1] as number);
      indexes.forEach((index, position) => {
        const policy = policies[index] as RateLimitPolicy;
        const at = REPLY_HEADER + position * REPLY_PER_LIMIT;
        const retry = reply[at + 2] as number;
        retryAfterMs = Math.max(retryAfterMs, retry);
        results[index] = {
          name: policy.name,
          allowed: true,
          limit: policy.limit,
          windowMs: policy.windowMs,
          remaining: reply[at] as number,
          resetMs: reply[at + 1] as number,
          retryAfterMs: retry,
        };
      });
    }
    for (let index = 0; index < results.length; index += 1) {
      const result = results[index] as RateLimitResult;
      result.allowed = allowed;
      if (peek) continue;
      const outcomes = this.outcomesOf(policies[index] as RateLimitPolicy);
      if (allowed) outcomes.allowed.inc();
      else if (result.retryAfterMs > 0) {
        outcomes.limited.inc();
        this.notifyRefusal((checks[index] as RateLimitCheck).key, result.name);
      }
    }
    if (!allowed && memoKey !== undefined) this.refusals.remember(memoKey, started, retryAfterMs, results);
    return { allowed, retryAfterMs: allowed ? 0 : retryAfterMs, results, source: 'redis', serverTimeUs };
  }

  /**
   * Calls `listener(identity, limitName)` for each limit that refuses a request, whether Redis
   * decided or a remembered refusal did (not the fail-closed policy while Redis is down): for an
   * operator's view such as the console's top limited identities, kept in a bounded structure
   * rather than as metric labels. It runs on the refusal path, so keep it cheap; what it throws is
   * ignored. Returns a function that removes it.
   */
  onRefusal(listener: (identity: string, limit: string) => void): () => void {
    this.refusalListeners.add(listener);
    return () => this.refusalListeners.delete(listener);
  }

  private notifyRefusal(identity: string, limit: string): void {
    for (const listener of this.refusalListeners) {
      try {
        listener(identity, limit);
      } catch {
        // an observer never breaks a check
      }
    }
  }

  /** A refusal from the memo, counted like one from Redis. */
  private refusedLocally(
    results: RateLimitResult[],
    policies: readonly RateLimitPolicy[],
    identities: readonly string[],
  ): RateLimitDecision {
    let retryAfterMs = 0;
    for (let index = 0; index < results.length; index += 1) {
      const result = results[index] as RateLimitResult;
      retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs);
      if (result.retryAfterMs > 0) {
        this.outcomesOf(policies[index] as RateLimitPolicy).limited.inc();
        this.notifyRefusal(identities[index] as string, result.name);
      }
    }
    return { allowed: false, retryAfterMs, results, source: 'refused-locally' };
  }

  /**
   * Forgets what was counted for `key`: for the given limits, or for every limit when none is given
   * (SCAN of the identity's hash tag, one Cluster node).
   */
  async reset(key: string, rules?: ReadonlyArray<RateLimitRule | RateLimitPolicy>): Promise<void> {
    const tag = encodeKeyPart(key, this.partOptions);
    const prefix = this.base + tag + '}';
    this.insurance?.forget(prefix);
    this.refusals.forget(prefix);
    const keys = rules?.map((rule) => prefix + this.policy(rule).keySuffix);
    try {
      if (keys !== undefined) {
        if (keys.length > 0) await this.client.unlink(...keys);
        return;
      }
      const pattern = `${prefix.slice(0, -tag.length - 2)}\\{${tag}\\}*`;
      for await (const batch of scanKeys(this.client, pattern)) {
        if (batch.length > 0) await this.client.unlink(...batch);
      }
    } catch (error) {
      // A refusal for the ACL user: typed, logged once and reported by the connection's health.
      throw this.connection.notePermission('rate-limit', error) ?? error;
    }
  }

  private async checkOne(key: string, policy: RateLimitPolicy, consume: boolean): Promise<RateLimitOutcome> {
    const redisKey = this.base + encodeKeyPart(key, this.partOptions) + '}' + policy.keySuffix;
    const started = performance.now();
    const memoKey = consume && this.refusals.enabled ? redisKey + policy.refusalSuffix : undefined;
    if (memoKey !== undefined) {
      const recalled = this.refusals.recall(memoKey, started);
      if (recalled !== undefined) {
        const decision = this.refusedLocally(recalled, [policy], [key]);
        return { ...(decision.results[0] as RateLimitResult), source: decision.source };
      }
    }
    let reply: CheckReply;
    try {
      reply =
        this.batcher !== undefined
          ? await this.batcher.submit([redisKey], [policy], consume)
          : this.durable !== undefined && consume
            ? await this.durable.check(singleScript(policy), [redisKey], policy.consumeArgs)
            : await singleScript(policy).run(
                this.client,
                [redisKey],
                consume ? policy.consumeArgs : policy.peekArgs,
              );
    } catch (error) {
      const decision = this.fallback([redisKey], [policy], consume, error);
      return { ...(decision.results[0] as RateLimitResult), source: decision.source };
    }
    this.metrics.checkSeconds.observe((performance.now() - started) / 1_000);
    const allowed = reply[0] === 1;
    if (consume) {
      const outcomes = this.outcomesOf(policy);
      (allowed ? outcomes.allowed : outcomes.limited).inc();
      if (!allowed) this.notifyRefusal(key, policy.name);
    }
    const result: RateLimitOutcome = {
      name: policy.name,
      allowed,
      limit: policy.limit,
      windowMs: policy.windowMs,
      remaining: reply[2] as number,
      resetMs: reply[3] as number,
      retryAfterMs: reply[4] as number,
      source: 'redis',
      serverTimeUs: reply[1] as number,
    };
    if (!allowed && memoKey !== undefined)
      this.refusals.remember(memoKey, started, result.retryAfterMs, [result]);
    return result;
  }

  /**
   * One script call for all keys, or on a Cluster one per identity (hash tag), in parallel. When
   * some identities admit the request and another refuses it, what the admitting ones charged is
   * refunded before this returns, so a refusal still charges no limit.
   */
  private async runGroups(
    keys: string[],
    policies: RateLimitPolicy[],
    tags: string[],
    consume: boolean,
  ): Promise<Array<{ indexes: number[]; reply: CheckReply }>> {
    if (this.batcher !== undefined) {
      const reply = await this.batcher.submit(keys, policies, consume);
      return [{ indexes: keys.map((_, index) => index), reply }];
    }
    const groups = new Map<string, number[]>();
    if (!this.isCluster)
      groups.set(
        '',
        keys.map((_, index) => index),
      );
    else {
      tags.forEach((tag, index) => {
        const group = groups.get(tag);
        if (group === undefined) groups.set(tag, [index]);
        else group.push(index);
      });
    }
    const calls = [...groups.values()].map(async (indexes) => {
      const args: string[] = [consume ? '1' : '0'];
      for (const index of indexes) args.push(...(policies[index] as RateLimitPolicy).args);
      const groupKeys = indexes.map((index) => keys[index] as string);
      const script =
        indexes.length === 1 ? singleScript(policies[indexes[0] as number] as RateLimitPolicy) : checkScript;
      const reply =
        this.durable !== undefined && consume
          ? await this.durable.check(script, groupKeys, args)
          : await script.run(this.client, groupKeys, args);
      return { indexes, reply };
    });
    if (calls.length === 1 || !consume) return Promise.all(calls);
    const settled = await Promise.allSettled(calls);
    const answered = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    const refused = failure !== undefined || answered.some(({ reply }) => reply[0] !== 1);
    if (refused) {
      const charged = answered.filter(({ reply }) => reply[0] === 1);
      await Promise.all(charged.map((group) => this.refund(keys, policies, group)));
    }
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
    return answered;
  }

  /** Takes back one admitting group's charge; its results then show the units as available again. */
  private async refund(
    keys: string[],
    policies: RateLimitPolicy[],
    group: { indexes: number[]; reply: CheckReply },
  ): Promise<void> {
    const { indexes, reply } = group;
    const serverTimeUs = reply[1] as number;
    const args: ScriptArgument[] = [serverTimeUs, admissionStamp(serverTimeUs)];
    for (const index of indexes) {
      const policy = policies[index] as RateLimitPolicy;
      args.push(policy.args[0] as string, policy.windowMs, policy.cost);
    }
    const groupKeys = indexes.map((index) => keys[index] as string);
    await refundScript.run(this.client, groupKeys, args);
    indexes.forEach((index, position) => {
      const at = REPLY_HEADER + position * REPLY_PER_LIMIT;
      const policy = policies[index] as RateLimitPolicy;
      reply[at] = Math.min(policy.limit, (reply[at] as number) + policy.cost);
    });
  }

  /** Decides without Redis: insurance limiter if configured, else each limit's open/closed policy. */
  private fallback(
    keys: readonly string[],
    policies: readonly RateLimitPolicy[],
    consume: boolean,
    error: unknown,
  ): RateLimitDecision {
    // A refusal for the ACL user (of the script, or of durable mode's WAIT) is logged (once) and
    // reported by the connection's health instead.
    const refused =
      error instanceof RateLimitUnreplicatedError && error.cause !== undefined ? error.cause : error;
    if (this.connection.notePermission('rate-limit', refused) === undefined) this.warn(error);
    if (consume) for (const policy of policies) this.outcomesOf(policy).error.inc();
    if (this.insurance !== undefined) {
      const local = this.insurance.check(keys, policies, consume);
      const allowed = local.every((result) => result.allowed);
      return {
        allowed,
        retryAfterMs: allowed ? 0 : Math.max(...local.map((result) => result.retryAfterMs)),
        results: local.map((result, index) => ({
          ...result,
          allowed,
          name: (policies[index] as RateLimitPolicy).name,
          windowMs: (policies[index] as RateLimitPolicy).windowMs,
        })),
        source: 'insurance',
      };
    }
    const allowed = policies.every((policy) => policy.onRedisError === 'open');
    return {
      allowed,
      retryAfterMs: allowed ? 0 : FAIL_CLOSED_RETRY_MS,
      results: policies.map((policy) => {
        const closed = policy.onRedisError === 'closed';
        return {
          name: policy.name,
          allowed,
          limit: policy.limit,
          windowMs: policy.windowMs,
          remaining: closed ? 0 : policy.limit,
          resetMs: closed ? FAIL_CLOSED_RETRY_MS : 0,
          retryAfterMs: closed ? FAIL_CLOSED_RETRY_MS : 0,
        };
      }),
      source: allowed ? 'fail-open' : 'fail-closed',
    };
  }

  private outcomesOf(policy: RateLimitPolicy): LimitOutcomes {
    let outcomes = this.outcomes.get(policy);
    if (outcomes === undefined) {
      outcomes = this.metrics.forLimit(policy.name);
      this.outcomes.set(policy, outcomes);
    }
    return outcomes;
  }

  private warn(error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn(`rate-limit check failed, deciding without Redis: ${message}`);
  }
}
