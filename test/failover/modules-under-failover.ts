import {
  type DynamicModule,
  type INestApplication,
  Inject,
  Injectable,
  Module,
  type Type,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService } from '@redkit/cache';
import { LockModule, LockService } from '@redkit/lock';
import { MessagingModule, StreamConsumers, StreamProducer } from '@redkit/messaging';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { OrderBookModule, OrderBookStore } from '@redkit/orderbook';
import { RateLimitModule, RateLimiterService } from '@redkit/rate-limit';
import {
  getRedisConnectionToken,
  RedisConnection,
  RedisModule,
  type DurabilityOptions,
  type RedisModuleOptions,
} from '@redkit/redis';

import { watchUnhandledRejections } from '../redis/failover-load.js';
import { startTopology, type FailoverTopology, type TopologyName } from './failover-topology.js';
import {
  CacheWorkload,
  LimiterWorkload,
  LockWorkload,
  OrderBookWorkload,
  StreamWorkload,
  type Mode,
  type ModuleName,
  type Workload,
  type WorkloadCounts,
} from './workloads.js';

/** Every command of the app is bounded by this (the failover specs' value). */
export const COMMAND_TIMEOUT_MS = 1_000;
/** The durable modules' setting: one replica acknowledges each write (every topology here has one). */
export const DURABILITY: DurabilityOptions = { replicas: 1 };
/** A functional bound on each recovery, far above what is measured: it checks recovery, not speed. */
export const RECOVERY_BOUND_MS = 30_000;
/** Lock workload: 16 contenders, each holding a few ms, far below the TTL (an expiry is not a double grant). */
export const LOCK_SETTINGS = { contenders: 16, holdMs: 3, ttlMs: 2_000, maxWaitMs: 3_000 } as const;
/** Limiter workload: a sliding-log rule hammered continuously; Redis alone admits. */
export const LIMIT_RULE = {
  name: 'failover',
  limit: 50,
  windowMs: 2_000,
  algorithm: 'sliding-log',
  onRedisError: 'closed',
} as const;

/** Which modules run in durable mode: each needs the module's `durability` option. */
export const DURABLE_MODULES: readonly ModuleName[] = ['lock', 'limiter', 'streams', 'orderbook'];

export interface FailoverRunOptions {
  topology: TopologyName;
  /** How many times the node holding the keys is SIGKILLed. */
  kills: number;
  /** Progress lines (one per failover); silent by default. */
  progress?: (line: string) => void;
}

/** One module in one mode over the whole run. */
export interface WorkloadReport extends WorkloadCounts {
  module: ModuleName;
  mode: Mode;
  /** The longest a call may take before it counts as hung. */
  callBoundMs: number;
}

export interface FailoverReport {
  topology: TopologyName;
  kills: number;
  /** `killed → promoted` per failover (addresses on Sentinel, node indexes on the Cluster). */
  failovers: string[];
  workloads: WorkloadReport[];
  /** Promise rejections nobody handled during the run, as strings. */
  unhandledRejections: string[];
}

/** The durable modules' connections, one per module, all on the durable prefix. */
const DURABLE_CONNECTIONS = ['lock', 'limiter', 'orderbook', 'streams'].map((module) => `durable-${module}`);

/** The services one mode's workloads use, resolved inside that mode's module. */
@Injectable()
class ModeServices {
  constructor(
    @Inject(LockService) readonly locks: LockService,
    @Inject(RateLimiterService) readonly limiter: RateLimiterService,
    @Inject(OrderBookStore) readonly books: OrderBookStore,
    @Inject(StreamProducer) readonly producer: StreamProducer,
    @Inject(StreamConsumers) readonly consumers: StreamConsumers,
  ) {}
}

/**
 * One mode's modules, none global, so the default and the durable instance of each module live side
 * by side in one app. `connectionOf(module)` names each module's RedisModule connection: the default
 * modules share `default`; each durable module gets a connection of its own, as the lock and order-book
 * READMEs require (WAIT blocks the connection it runs on: one WAIT at a time per connection).
 */
function modeModule(
  connectionOf: (module: string) => string,
  durability: DurabilityOptions | undefined,
): Type {
  const extras = (module: string) => ({ isGlobal: false, connection: connectionOf(module) });
  const imports: DynamicModule[] = [
    LockModule.forRoot({
      ...extras('lock'),
      ttlMs: LOCK_SETTINGS.ttlMs,
      maxWaitMs: LOCK_SETTINGS.maxWaitMs,
      // Each contender goes through Redis, as 16 processes would (see LockWorkload).
      localHandoff: false,
      durability,
    }),
    RateLimitModule.forRoot({ ...extras('limiter'), durability }),
    OrderBookModule.forRoot({ ...extras('orderbook'), defaultSymbol: { tickSize: '1' }, durability }),
    MessagingModule.forRoot({ ...extras('streams'), durability }),
  ];
  @Module({ imports, providers: [ModeServices] })
  class ModeModule {}
  return ModeModule;
}

/** The cache lives in the default mode only: it has no durable mode (L2 is a copy, not the truth). */
@Injectable()
class CacheHolder {
  constructor(@Inject(CacheService) readonly cache: CacheService) {}
}

const CACHE_OPTIONS = { ttlMs: 120_000, l1TtlMs: 120_000, ttlJitter: 0 };

interface Placement {
  resource: string;
  symbol: string;
  limiterKey: string;
  stream: string;
  cacheKey: string;
}

/**
 * Runs every module's workload, in both modes, on `options.topology`, through `options.kills`
 * SIGKILLs of the node holding their keys, and reports what each kept. One Nest app with two
 * instances of the lock, limiter, order-book and messaging modules: the default ones on the `default`
 * connection (prefix `<p>d`), the durable ones (`durability: { replicas: 1 }`) on a connection each
 * (prefix `<p>u`);
 * the cache (default only) writes through the app and is read by a second CacheService on a connection
 * of its own, as another instance would.
 *
 * Each failover: SIGKILL, wait for the promotion, bring the killed node back as a replica (durable
 * writes need one to acknowledge), then wait until every workload succeeds again. On the Cluster every
 * workload's keys (and the cache's invalidation channel) are placed in slots of one master, by the
 * names chosen, so one kill hits every module in both modes at once, as on Sentinel.
 */
export async function runModulesUnderFailover(options: FailoverRunOptions): Promise<FailoverReport> {
  const log = options.progress ?? (() => {});
  const topology = await startTopology(options.topology);
  const cleanups: Array<() => Promise<unknown>> = [() => topology.stop()];
  const unhandled = watchUnhandledRejections();
  try {
    const stamp = `${process.pid}${Date.now().toString(36)}`;
    // The cache's invalidation channel hangs on the prefix alone: pick one whose channel is on the target.
    let prefix = `rkfo${stamp}`;
    for (let attempt = 0; !(await topology.hitByKill([`${prefix}d:cache:~invalidate`])); attempt++)
      prefix = `rkfo${stamp}${attempt.toString(36)}`;
    const prefixes: Record<Mode, string> = { default: `${prefix}d`, durable: `${prefix}u` };
    const redis = (name: string, keyPrefix: string): RedisModuleOptions & { name: string } => ({
      ...topology.connection,
      name,
      keyPrefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });

    const DefaultMode = modeModule(() => 'default', undefined);
    const DurableMode = modeModule((module) => `durable-${module}`, DURABILITY);
    @Module({
      imports: [CacheModule.forRoot({ ...CACHE_OPTIONS, isGlobal: false, connection: 'default' })],
      providers: [CacheHolder],
    })
    class CacheWriterModule {}
    @Module({
      imports: [
        MetricsModule.forRoot({ defaultMetrics: false }),
        RedisModule.forRoot(redis('default', prefixes.default)),
        ...DURABLE_CONNECTIONS.map((name) => RedisModule.forRoot(redis(name, prefixes.durable))),
        DefaultMode,
        DurableMode,
        CacheWriterModule,
      ],
    })
    class FailoverModulesApp {}
    const moduleRef = await Test.createTestingModule({ imports: [FailoverModulesApp] }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.init();
    cleanups.push(() => app.close());

    const services: Record<Mode, ModeServices> = {
      default: app.select(DefaultMode).get(ModeServices, { strict: true }),
      durable: app.select(DurableMode).get(ModeServices, { strict: true }),
    };
    const connections: Record<Mode, RedisConnection> = {
      default: app.get<RedisConnection>(getRedisConnectionToken('default')),
      durable: app.get<RedisConnection>(getRedisConnectionToken('durable-streams')),
    };
    const writer = app.select(CacheWriterModule).get(CacheHolder, { strict: true }).cache;
    const placement = await place(topology, prefixes.default, services.default.limiter);

    // The cache's reader: another instance, with a connection, subscriber and metrics of its own.
    const readerConnection = await RedisConnection.open(
      'cache-reader',
      redis('cache-reader', prefixes.default),
    );
    cleanups.push(() => readerConnection.close());
    const readerMetrics = new MetricsService();
    const reader = new CacheService(readerConnection, CACHE_OPTIONS, readerMetrics);
    await reader.onModuleInit();
    cleanups.push(() => reader.onApplicationShutdown());

    const workloads: Workload[] = [];
    for (const mode of ['default', 'durable'] as const) {
      const { locks, limiter, books, producer, consumers } = services[mode];
      const streamKey = `${prefixes[mode]}:messaging:{${placement.stream}}:stream`;
      workloads.push(
        new LockWorkload(mode, locks, placement.resource, LOCK_SETTINGS),
        new LimiterWorkload(mode, limiter, placement.limiterKey, { ...LIMIT_RULE }),
        new StreamWorkload(mode, producer, consumers, connections[mode].client, placement.stream, streamKey),
        new OrderBookWorkload(mode, books, placement.symbol),
      );
    }
    workloads.push(
      new CacheWorkload(
        writer,
        reader,
        readerMetrics,
        connections.default.client,
        placement.cacheKey,
        `${prefixes.default}:cache:default:${placement.cacheKey}`,
      ),
    );

    const failovers: string[] = [];
    try {
      await Promise.all(workloads.map((workload) => workload.start()));
      for (let kill = 0; kill < options.kills; kill++) {
        const handle = await topology.kill();
        for (const workload of workloads) workload.markKill(handle.killedAt);
        await topology.waitForPromotion(handle);
        await topology.rejoin(handle);
        await Promise.all(workloads.map((workload) => workload.waitForRecovery(RECOVERY_BOUND_MS))).catch(
          (error: unknown) => {
            // What each connection was doing, to tell a client that did not reconnect from a topology
            // that did not settle.
            const states = Object.entries(connections).map(
              ([mode, { client }]) => `${mode}: ${client.status} ${describeSocket(client)}`,
            );
            throw new Error(`${(error as Error).message}; connections: ${states.join(', ')}`, {
              cause: error,
            });
          },
        );
        failovers.push(`${handle.killed} → ${handle.promoted}`);
        log(
          `${options.topology} failover ${kill + 1}/${options.kills} (${handle.killed} → ${handle.promoted}): ` +
            `recovered in ${Math.round(performance.now() - handle.killedAt)} ms`,
        );
      }
    } finally {
      await Promise.allSettled(workloads.map((workload) => workload.stop()));
    }
    for (const workload of workloads) await workload.finish();
    // Leave nothing behind for the next run on the same servers (the servers go too; this is for REDIS_URL-style reuse).
    await Promise.allSettled(
      (['default', 'durable'] as const).map((mode) =>
        connections[mode].client.unlink(`${prefixes[mode]}:messaging:{${placement.stream}}:stream`),
      ),
    );
    return {
      topology: options.topology,
      kills: options.kills,
      failovers,
      workloads: workloads.map((workload) => ({
        module: workload.module,
        mode: workload.mode,
        callBoundMs: workload.callBoundMs,
        ...workload.counts(),
      })),
      unhandledRejections: unhandled.reasons.map((reason) =>
        reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
      ),
    };
  } finally {
    unhandled.stop();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

/**
 * Names for each workload whose keys the next kill hits (on Sentinel, the first ones; on the Cluster,
 * the first whose slot the target master owns). The durable prefix's keys carry the same hash tags.
 */
async function place(
  topology: FailoverTopology,
  prefix: string,
  limiter: RateLimiterService,
): Promise<Placement> {
  const pick = async (keyOf: (candidate: string) => string, base: string): Promise<string> => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const candidate = `${base}-${attempt}`;
      if (await topology.hitByKill([keyOf(candidate)])) return candidate;
    }
    throw new Error(`no ${base} name found in slots of the target master`);
  };
  return {
    resource: await pick((name) => `${prefix}:lock:{${name}}:owner`, 'contended'),
    symbol: await pick((name) => `${prefix}:orderbook:{${name}}:meta`, 'BOOK'),
    limiterKey: await pick((name) => limiter.redisKey(name, LIMIT_RULE), 'client'),
    stream: await pick((name) => `${prefix}:messaging:{${name}}:stream`, 'entries'),
    cacheKey: await pick((name) => `${prefix}:cache:default:${name}`, 'item'),
  };
}

/** `host:port` of the socket a standalone or Sentinel client is on (a Cluster has many). */
function describeSocket(client: RedisConnection['client']): string {
  const stream =
    'stream' in client
      ? (client.stream as { remoteAddress?: string; remotePort?: number } | undefined)
      : undefined;
  return stream?.remoteAddress === undefined
    ? '(no socket)'
    : `on ${stream.remoteAddress}:${stream.remotePort}`;
}
