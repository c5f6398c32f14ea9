// The JSON shapes of the console API (API.md), written once: the server's views and controllers
// answer them and the page (src/ui, through ui/types.ts) reads them. Types only, importing
// nothing, so the page's DOM-only type-check can read this file and the build emits no runtime
// code for it.

/** What the console may change; each can be refused with the `deny` option. */
export type ConsoleAction =
  'ack' | 'claim' | 'autoclaim' | 'delete-pending' | 'replay' | 'delete-dead-letter' | 'evict';

/** `read-only` shows everything and changes nothing; `operate` also allows the actions. */
export type ConsoleMode = 'read-only' | 'operate';

/** The views the console can show, each needing the redkit lib named beside it (`redis` always). */
export type ConsoleView = 'streams' | 'locks' | 'limits' | 'cache' | 'events' | 'redis' | 'orderbook';

/** `GET api/session`: what this page may see and do. */
export interface ConsoleSessionBody {
  mode: ConsoleMode;
  production: boolean;
  deny: string[];
  /** `streams.readOnly` patterns (exact names or `*` globs): actions on them are refused. */
  readOnlyStreams: string[];
  views: ConsoleView[];
  auth: 'guard' | 'api-key' | 'none';
  authenticated: boolean;
  /** With an API-key session: what writes send as `X-CSRF-Token`. */
  csrfToken?: string;
}

/**
 * A priority lane of a stream, as @redkit/messaging names them: each is a stream key of its own
 * under the stream's hash tag (`normal` is the stream's original key). Lists of lanes are always
 * highest first: `critical`, `high`, `normal`, `low`.
 */
export type LanePriority = 'critical' | 'high' | 'normal' | 'low';

/** One priority lane of a stream. */
export interface LaneSummary {
  priority: LanePriority;
  /** Entries in the lane (0 when its key does not exist). */
  length: number;
  /** Entries of the lane delivered and not acknowledged, over every group. */
  pending: number;
}

/** One consumer group on one lane. */
export interface GroupLaneSummary {
  priority: LanePriority;
  pending: number;
  /** Entries of the lane not yet delivered to the group; null when Redis cannot tell. */
  lag: number | null;
}

/** One consumer group of a stream: over every lane, and each lane where the group exists. */
export interface GroupSummary {
  name: string;
  consumers: number;
  /** Delivered and not acknowledged (every lane). */
  pending: number;
  /** Entries not yet delivered to the group (every lane); null when Redis cannot tell (after deletions). */
  lag: number | null;
  /** Age of the oldest entry not yet delivered to the group, of any lane (0 when there is none). */
  lagAgeMs: number | null;
  entriesRead: number | null;
  /** The latest of its lanes'. */
  lastDeliveredId: string;
  /** The lanes where the group exists, highest first. */
  lanes: GroupLaneSummary[];
}

/** Where a partition of a partitioned stream (named `<of>#<index>`) belongs. */
export interface StreamPartitionRef {
  /** The partitioned stream's name. */
  of: string;
  index: number;
  /** Its partition count when a member of it runs in this app; else null. */
  partitions: number | null;
}

/**
 * One stream, from XINFO STREAM (never FULL) and XINFO GROUPS of each lane and the dead-letter
 * stream's XLEN. The numbers are totals over the lanes; `lanes` has each lane's.
 */
export interface StreamSummary {
  name: string;
  length: number;
  /** The oldest first entry and the newest last entry of any lane. */
  firstId: string | null;
  lastId: string | null;
  /** Entries ever added (Redis 7). */
  entriesAdded: number | null;
  deadLetterLength: number;
  /** MEMORY USAGE with 5 samples (an estimate); null when the ACL user may not ask. */
  memoryBytes: number | null;
  groups: GroupSummary[];
  /** Every lane, highest first. */
  lanes: LaneSummary[];
  /** Set when the stream is a partition of a partitioned stream; else null. */
  partition: StreamPartitionRef | null;
}

/** One consumer of one group (over the lanes: its pending entries summed, its latest activity). */
export interface ConsumerSummary {
  group: string;
  name: string;
  pending: number;
  /** Since its last delivery or claim, on any lane. */
  idleMs: number;
  /** Since its last successful read attempt (Redis 7.2), on any lane; null before. */
  inactiveMs: number | null;
  /** Idle (or inactive) longer than `deadConsumerMs`. */
  dead: boolean;
}

/** `GET api/streams/:stream`. */
export interface StreamDetail extends StreamSummary {
  consumers: ConsumerSummary[];
}

/** A partitioned stream: the streams `<name>#<i>` listed in `StreamsBody.streams`. */
export interface PartitionedStreamSummary {
  name: string;
  /** Its partition count when a member of it runs in this app; else null (only `listed` is known). */
  partitions: number | null;
  /** The indexes of its partitions in `streams`, in order. */
  listed: number[];
}

/** `GET api/streams`, and the live `streams` topic. */
export interface StreamsBody {
  /** Every stream, partitions included (each is a stream of its own), by name. */
  streams: StreamSummary[];
  truncated: boolean;
  /** The partitioned streams whose partitions `streams` lists, by name. */
  partitioned: PartitionedStreamSummary[];
}

/** One entry delivered to a group and not acknowledged. */
export interface PendingEntry {
  id: string;
  /** The lane it is pending on: actions on it name this lane. */
  priority: LanePriority;
  consumer: string;
  idleMs: number;
  deliveries: number;
  /** The entry's fields, redacted and cut; null when the entry was trimmed or deleted meanwhile. */
  fields: Record<string, string> | null;
  truncated: boolean;
}

/**
 * `GET api/streams/:stream/groups/:group/pending`: entries of every lane (or one), by id, those of
 * one id in lane order.
 */
export interface PendingPage {
  entries: PendingEntry[];
  /** The cursor of the next page (`after`), `<id>:<lane>`, or null on the last one. */
  next: string | null;
}

/** `POST .../pending/autoclaim`. */
export interface AutoclaimReport {
  /** Entries moved to the consumer. */
  claimed: number;
  /** The cursor to go on from (`start`), `<id>:<lane>`; `0-0` once every lane swept was covered. */
  next: string;
  /** Ids Redis dropped from the pending lists because their entries no longer exist. */
  deleted: string[];
}

/** One entry of a stream's dead-letter stream. */
export interface DeadLetterEntry {
  /** Its id in the dead-letter stream. */
  id: string;
  /** The id it had in the stream. */
  originalId: string;
  /** The lane it failed on, where a replay puts it back (`normal` for dead letters from before lanes). */
  priority: LanePriority;
  group: string;
  consumer: string;
  error: string;
  deliveries: number;
  /** ISO 8601. */
  failedAt: string;
  /** The original entry's fields, redacted and cut. */
  fields: Record<string, string> | null;
  truncated: boolean;
}

/** `GET api/streams/:stream/dead-letters`. */
export interface DeadLetterPage {
  entries: DeadLetterEntry[];
  next: string | null;
  /** Entries in the dead-letter stream. */
  length: number;
}

/** `POST api/streams/:stream/dead-letters/replay`. */
export interface ReplayReport {
  /** `newId` is the entry's id on the lane `priority`, the one it failed on. */
  replayed: { id: string; newId: string; priority: LanePriority }[];
  failed: { id: string; reason: string }[];
  /** Dead letters left after the replay. */
  remaining: number;
}

/** Per-second rates of one stream over the last points, oldest first. */
export interface ThroughputSeries {
  /** ms since the epoch of each point. */
  at: number[];
  added: number[];
  acked: number[];
  retried: number[];
  deadLettered: number[];
  /** Handler latency over each interval; null when no handler ran. */
  p50Ms: (number | null)[];
  p95Ms: (number | null)[];
}

/** `GET api/throughput`. */
export interface ThroughputBody {
  intervalMs: number;
  points: number;
  streams: Record<string, ThroughputSeries>;
}

/** The newest point of one stream (what the live stream sends each second). */
export interface ThroughputPoint {
  stream: string;
  at: number;
  added: number;
  acked: number;
  retried: number;
  deadLettered: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** One held lock, semaphore, read-write lock or leader lease. */
export interface LockInfo {
  kind: 'lock' | 'semaphore' | 'rwlock' | 'leader';
  /** The resource, semaphore, lock or election name. */
  resource: string;
  /** The resource's fencing counter (the highest token issued); a leader's term. */
  fencingToken: number | null;
  /** Until the lease ends (a semaphore's or readers' last lease, plus a second of grace). */
  remainingMs: number | null;
  /** Holders: 1 for a lock, writer or leader; permits' holders of a semaphore; readers. */
  holders: number;
  /** Queued waiters (locks, fair semaphores, writers waiting on a read-write lock). */
  waiters: number | null;
  /** A leader's instance; null for the others. */
  holder: string | null;
}

/** `GET api/locks`. */
export interface LocksBody {
  locks: LockInfo[];
  /** Where the next page starts; null when every key node was scanned. */
  cursor: string | null;
}

/** Decisions per second of one limit, in the newest sample. */
export interface LimitRates {
  name: string;
  allowed: number;
  limited: number;
  error: number;
}

/** One limit's decisions per second over the points of `history.at`. */
export interface LimitSeries {
  allowed: number[];
  limited: number[];
  error: number[];
}

/** One identity a limit refused, over the window. */
export interface LimitedIdentity {
  identity: string;
  limit: string;
  refused: number;
  /** ms since the epoch of the last refusal. */
  lastAt: number;
}

/**
 * `GET api/limits`. `history.at` is the time axis shared by every limit; beside it one series per
 * limit name, aligned with it (zero before a limit was first seen). A limit named `at` is left out
 * of the history.
 */
export interface LimitsBody {
  limits: LimitRates[];
  history: { at: number[] } & Record<string, number[] | LimitSeries>;
  top: LimitedIdentity[];
}

/** One cache namespace, from redkit_cache_* counters since the process started. */
export interface CacheNamespaceInfo {
  name: string;
  l1Hits: number;
  l2Hits: number;
  misses: number;
  /** Hits (either level) over reads; null before the first read. */
  hitRatio: number | null;
  staleServed: number;
  /** Median loader duration since start; null before the first load. */
  loaderP50Ms: number | null;
  /** Keys invalidated, sent to and received from other instances; null before the first. */
  invalidationsSent: number | null;
  invalidationsReceived: number | null;
}

/** `GET api/cache`. */
export interface CacheBody {
  namespaces: CacheNamespaceInfo[];
  l1: { entries: number; bytes: number | null };
}

/** One event as the console shows it. */
export interface ConsoleEvent {
  /** When it was published (ms since the epoch, publisher's clock). */
  at: number;
  type: string;
  source: string;
  /** The envelope's data, redacted; its JSON text cut when larger than `maxPayloadBytes`. */
  payload: unknown;
  truncated: boolean;
}

/** `GET api/events`: the last events the console saw, oldest first. */
export interface EventsBody {
  events: ConsoleEvent[];
}

/** What the live stream sends as `events`. */
export interface EventBatch extends EventsBody {
  /** Events past `tailPerSecond` left out since the last batch. */
  dropped: number;
}

/** One Redis server (every master of a Cluster), as the connection's collector last sampled it. */
export interface RedisNodeInfo {
  node: string;
  up: boolean;
  usedMemoryBytes: number | null;
  maxmemoryBytes: number | null;
  fragmentation: number | null;
  clients: number | null;
  blockedClients: number | null;
  opsPerSecond: number | null;
  hitRatio: number | null;
  /** Keys evicted / expired since the collector started. */
  evictedKeys: number | null;
  expiredKeys: number | null;
  slowlogLength: number | null;
}

/** `GET api/redis`. */
export interface RedisBody {
  available: boolean;
  /** Why nothing is shown, when `available` is false. */
  reason?: string;
  nodes: RedisNodeInfo[];
  /** What the console cannot show even when available, and why. */
  notes: string[];
}

/** `GET api/orderbook/:symbol`: one book's ladder. */
export interface OrderBookLadder {
  symbol: string;
  sequence: number;
  bids: { price: string; quantity: string }[];
  asks: { price: string; quantity: string }[];
  /** ms since the epoch (the Redis server's clock). */
  updatedAt: number;
}
