// The JSON shapes of the console API, as API.md states them. The page reads nothing else.

export type ConsoleAction =
  'ack' | 'claim' | 'autoclaim' | 'delete-pending' | 'replay' | 'delete-dead-letter' | 'evict';

export type ViewName = 'streams' | 'locks' | 'limits' | 'cache' | 'events' | 'redis' | 'orderbook';

export interface Session {
  mode: 'read-only' | 'operate';
  production: boolean;
  deny: string[];
  views: string[];
  auth: 'guard' | 'api-key' | 'none';
  authenticated: boolean;
  csrfToken?: string;
  /** The `streams.readOnly` patterns: the page leaves out the buttons the server would refuse. */
  readOnlyStreams?: string[];
}

export interface GroupSummary {
  name: string;
  consumers: number;
  pending: number;
  lag: number | null;
  lagAgeMs: number | null;
  entriesRead: number | null;
  lastDeliveredId: string;
}

export interface StreamSummary {
  name: string;
  length: number;
  firstId: string | null;
  lastId: string | null;
  entriesAdded: number | null;
  deadLetterLength: number;
  /** Beyond the contract, from the server: MEMORY USAGE estimate, null when not allowed. */
  memoryBytes?: number | null;
  groups: GroupSummary[];
}

export interface StreamsBody {
  streams: StreamSummary[];
  truncated: boolean;
}

export interface ConsumerSummary {
  group: string;
  name: string;
  pending: number;
  idleMs: number;
  inactiveMs: number | null;
  dead: boolean;
}

export interface StreamDetail extends StreamSummary {
  consumers: ConsumerSummary[];
}

export interface PendingEntry {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
  fields: Record<string, string> | null;
  truncated: boolean;
}

export interface PendingPage {
  entries: PendingEntry[];
  next: string | null;
}

export interface DeadLetter {
  id: string;
  originalId: string;
  group: string;
  consumer: string;
  error: string;
  deliveries: number;
  failedAt: string;
  fields: Record<string, string> | null;
  truncated: boolean;
}

export interface DeadLetterPage {
  entries: DeadLetter[];
  next: string | null;
  length: number;
}

export interface ReplayReport {
  replayed: { id: string; newId: string }[];
  failed: { id: string; reason: string }[];
  remaining: number;
}

export interface ThroughputSeries {
  at: number[];
  added: number[];
  acked: number[];
  retried: number[];
  deadLettered: number[];
  p50Ms: (number | null)[];
  p95Ms: (number | null)[];
}

export interface ThroughputBody {
  intervalMs: number;
  points: number;
  streams: Record<string, ThroughputSeries>;
}

export interface LockInfo {
  kind: 'lock' | 'semaphore' | 'rwlock' | 'leader';
  resource: string;
  fencingToken: number | null;
  remainingMs: number | null;
  holders: number;
  waiters: number | null;
  /** Beyond the contract, from the server: a leader's instance. */
  holder?: string | null;
}

export interface LocksBody {
  locks: LockInfo[];
  cursor: string | null;
}

export interface LimitSample {
  name: string;
  allowed: number;
  limited: number;
  error: number;
}

export interface LimitsBody {
  limits: LimitSample[];
  /** `at` plus one entry per limit name; see readLimitHistory in limits.ts for the shapes accepted. */
  history: Record<string, unknown>;
  top: { identity: string; limit: string; refused: number; lastAt: number }[];
}

export interface CacheNamespace {
  name: string;
  l1Hits: number;
  l2Hits: number;
  misses: number;
  hitRatio: number | null;
  staleServed: number;
  loaderP50Ms: number | null;
  invalidationsSent: number | null;
  invalidationsReceived: number | null;
}

export interface CacheBody {
  namespaces: CacheNamespace[];
  l1: { entries: number; bytes: number | null };
}

export interface ConsoleEvent {
  at: number;
  type: string;
  source: string;
  payload: unknown;
  truncated: boolean;
}

export interface EventsBody {
  events: ConsoleEvent[];
  dropped?: number;
}

export interface RedisNode {
  node: string;
  up: boolean;
  usedMemoryBytes: number | null;
  maxmemoryBytes: number | null;
  fragmentation: number | null;
  clients: number | null;
  blockedClients: number | null;
  opsPerSecond: number | null;
  hitRatio: number | null;
  evictedKeys: number | null;
  expiredKeys: number | null;
  slowlogLength: number | null;
}

export interface RedisBody {
  available: boolean;
  reason?: string;
  nodes: RedisNode[];
  /** What the server's collector cannot see, and why (beyond the contract; shown when present). */
  notes?: string[];
}

export interface BookLevel {
  price: string;
  quantity: string;
}

export interface OrderBook {
  symbol: string;
  sequence: number;
  bids: BookLevel[];
  asks: BookLevel[];
  updatedAt: number | string | null;
}
