import { Cluster, type Redis, type RedisOptions } from 'ioredis';

import type { RedisClient } from './redis-client.js';
import { RedisKitError } from './redis.errors.js';

/** How long stop() waits for the socket to close before it stops waiting. */
const STOP_TIMEOUT_MS = 1_000;
/** For the start() bound when the client does not say: ioredis's connectTimeout, redkit's commandTimeoutMs. */
const FALLBACK_CONNECT_TIMEOUT_MS = 10_000;
const FALLBACK_COMMAND_TIMEOUT_MS = 1_000;

/** Every connection is made by hand and used once: ioredis must neither reconnect nor resubscribe it. */
const SINGLE_USE: Partial<RedisOptions> = Object.freeze({
  lazyConnect: true,
  autoResubscribe: false,
  enableAutoPipelining: false,
  enableOfflineQueue: false,
  retryStrategy: null,
});

function ignore(): void {}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Exponential back-off with jitter, for clients that carry no retry strategy of their own. */
function defaultReconnectDelay(attempt: number): number {
  const ceiling = Math.min(2_000, 50 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** The per-node options of a client: its own for a standalone/Sentinel client, `redisOptions` for a Cluster. */
function nodeOptionsOf(client: RedisClient): Partial<RedisOptions> {
  return client instanceof Cluster ? (client.options.redisOptions ?? {}) : client.options;
}

function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** A {@link DedicatedSubscriber} did not listen in time, was refused, or was stopped before it listened. */
export class DedicatedSubscriberError extends RedisKitError {}

/** Options of {@link DedicatedSubscriber}. Only `client` and `role` are required. */
export interface DedicatedSubscriberOptions {
  /** The main connection: the subscriber duplicates it (or, on a Cluster, one of its masters). */
  client: RedisClient;
  /** What the subscriber is for (`cache-invalidation`, `lock-grants`): in error messages and the connection name. */
  role: string;
  /** The connection name in `CLIENT LIST`; by default `<main connection name or "redkit">-<role>`. */
  connectionName?: string;
  /** Channels subscribed on every connection; {@link DedicatedSubscriber.subscribe} adds more. */
  channels?: readonly string[];
  /** Patterns subscribed on every connection; {@link DedicatedSubscriber.psubscribe} adds more. */
  patterns?: readonly string[];
  /**
   * Runs on every new connection once it is ready, before the channels and patterns are subscribed
   * (e.g. `CLIENT TRACKING ... REDIRECT <own id>`). A rejection fails this connection like a lost one.
   */
  setUp?(connection: Redis): Promise<void>;
  /** A message on a subscribed channel, as strings (ioredis `message`). */
  onMessage?(channel: string, message: string): void;
  /** A message through a subscribed pattern, as strings (ioredis `pmessage`). */
  onPatternMessage?(pattern: string, channel: string, message: string): void;
  /**
   * A message on a subscribed channel, raw (ioredis `messageBuffer`): a Buffer, or what the server sent
   * instead (CLIENT TRACKING's RESP2 invalidations are an array of keys, or null after a flush).
   */
  onMessageBuffer?(channel: Buffer, message: unknown): void;
  /**
   * Listening, with every channel and pattern subscribed. `again` is false for the listening that
   * resolves start(), true for every later one (after a lost connection, or after start() timed out):
   * messages published meanwhile were missed.
   */
  onListening?(again: boolean): void;
  /** A listening connection was lost; without this hook, the loss goes to `onError`. */
  onLost?(error: Error): void;
  /**
   * A connection attempt, the set-up or a subscription failed, or a message handler threw. At most
   * once per connection for connection failures, so an outage does not report every socket event.
   */
  onError?(error: unknown): void;
  /**
   * Bound on start(); by default the client's connectTimeout plus its commandTimeout. `Infinity`: start()
   * waits for as long as it takes (only stop() or a refusal settles it otherwise).
   */
  startTimeoutMs?: number;
  /**
   * What an error reply to the first set-up (unknown command, NOPERM) does. `true` (default): start()
   * rejects at once and the subscriber stops, since retrying will not change the answer. `false`: it is
   * reported and retried after a back-off like any other failure.
   */
  stopWhenRefused?: boolean;
}

/**
 * One dedicated pub/sub connection that keeps listening: the cache's invalidation and landing
 * subscribers, the lock's grant subscriber and the event bus all use it. What it guarantees:
 *
 * - Each connection is fresh and single-use (`retryStrategy: null`, `autoResubscribe: false`): when it
 *   ends, a new one is made after a back-off (the main client's own reconnect strategy) and set up from
 *   scratch, `setUp` first, then every channel and pattern, in order. ioredis's own resubscription is not
 *   used: it leaves SUBSCRIBE's promise unhandled when the connection drops again at once, and it gives
 *   no moment at which the subscriptions are known to be back.
 * - `onListening(true)` fires only once everything is subscribed on the new connection, so an owner that
 *   recovers from missed messages there (drop L1, run reconnect hooks) cannot miss any after it.
 * - Every failure goes to `onError`; nothing it does ends in an unhandled rejection or lets a handler's
 *   exception escape into ioredis's socket handler.
 * - On a Cluster it connects to one master of the main client's current topology (classic pub/sub is
 *   broadcast to every node) and moves to another when that one goes away. ioredis's own Cluster
 *   subscriber does the same silently, which would leave the owner unable to tell that messages were missed.
 * - stop() closes the connection (the server drops its subscriptions and tracking with it) within a
 *   second, and no new one is made.
 *
 * @example
 * const subscriber = new DedicatedSubscriber({
 *   client: connection.client,
 *   role: 'prices',
 *   channels: ['prices'],
 *   onMessage: (channel, message) => console.log(channel, message),
 *   onListening: (again) => again && console.log('listening again: messages may have been missed'),
 * });
 * await subscriber.start();
 */
export class DedicatedSubscriber {
  private readonly client: RedisClient;
  private readonly startTimeoutMs: number;
  private readonly channels: Set<string>;
  private readonly patterns: Set<string>;
  private connection?: Redis;
  private listening = false;
  /** The node the last Cluster connection went to, avoided next time when another is known. */
  private lastNode?: string;
  private attempts = 0;
  private retryTimer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;
  private starting?: Promise<void>;
  private resolveStart?: () => void;
  private rejectStart?: (error: Error) => void;
  private startSettled = false;
  private lastError: unknown;
  private stopping?: Promise<void>;

  constructor(private readonly options: DedicatedSubscriberOptions) {
    const { client, role, startTimeoutMs } = options;
    if (!(client instanceof Cluster) && typeof client?.duplicate !== 'function') {
      throw new DedicatedSubscriberError('DedicatedSubscriber option "client" must be an ioredis client');
    }
    if (typeof role !== 'string' || role.length === 0) {
      throw new DedicatedSubscriberError('DedicatedSubscriber option "role" must be a non-empty string');
    }
    if (startTimeoutMs !== undefined && !(typeof startTimeoutMs === 'number' && startTimeoutMs > 0)) {
      throw new DedicatedSubscriberError(
        'DedicatedSubscriber option "startTimeoutMs" must be a positive number of milliseconds (or Infinity)',
      );
    }
    this.client = client;
    const node = nodeOptionsOf(client);
    this.startTimeoutMs =
      startTimeoutMs ??
      (node.connectTimeout ?? FALLBACK_CONNECT_TIMEOUT_MS) +
        (node.commandTimeout ?? FALLBACK_COMMAND_TIMEOUT_MS);
    this.channels = new Set(options.channels);
    this.patterns = new Set(options.patterns);
  }

  /** True while a connection is up with every channel and pattern subscribed. */
  get isListening(): boolean {
    return this.listening;
  }

  /**
   * Connects; resolves once the first connection listens. Rejects after `startTimeoutMs` when Redis
   * cannot be reached, but keeps connecting in the background (then `onListening(true)` once it
   * listens), until stop(). Rejects at once when Redis refuses the set-up (see `stopWhenRefused`), and
   * when stopped before it listened. Calling it again returns the same promise.
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(this.failure('was stopped'));
    this.starting ??= new Promise<void>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
      if (this.startTimeoutMs !== Number.POSITIVE_INFINITY) {
        this.startTimer = setTimeout(() => {
          const last = this.lastError === undefined ? '' : `; last error: ${describeError(this.lastError)}`;
          this.settleStart(
            this.failure(
              `is not listening within ${this.startTimeoutMs} ms${last} (it keeps trying in the background)`,
              this.lastError,
            ),
          );
        }, this.startTimeoutMs);
      }
      this.open();
    });
    return this.starting;
  }

  /**
   * Adds a channel: subscribed now on a listening connection (rejecting if that fails), and on every
   * connection made later in any case.
   */
  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    const { connection } = this;
    if (this.listening && connection !== undefined) await connection.subscribe(channel);
  }

  /** Adds a pattern, like {@link subscribe}. */
  async psubscribe(pattern: string): Promise<void> {
    this.patterns.add(pattern);
    const { connection } = this;
    if (this.listening && connection !== undefined) await connection.psubscribe(pattern);
  }

  /** Removes a channel: unsubscribed now on a listening connection, and not subscribed again. */
  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    const { connection } = this;
    if (this.listening && connection !== undefined) await connection.unsubscribe(channel);
  }

  /** Removes a pattern, like {@link unsubscribe}. */
  async punsubscribe(pattern: string): Promise<void> {
    this.patterns.delete(pattern);
    const { connection } = this;
    if (this.listening && connection !== undefined) await connection.punsubscribe(pattern);
  }

  /** Closes the connection and stops reconnecting; resolves once it closed, or after a second at most. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.retryTimer);
      this.settleStart(this.failure('was stopped before it listened'));
      const { connection } = this;
      this.connection = undefined;
      this.listening = false;
      if (!connection || connection.status === 'end') return;
      const ended = new Promise<void>((resolve) => {
        connection.once('end', () => resolve());
        setTimeout(resolve, STOP_TIMEOUT_MS).unref();
      });
      connection.disconnect();
      await ended;
    })();
    return this.stopping;
  }

  private failure(what: string, cause?: unknown): DedicatedSubscriberError {
    return new DedicatedSubscriberError(`${this.options.role} subscriber ${what}`, { cause });
  }

  private settleStart(error?: Error): void {
    if (this.startSettled || !this.starting) return;
    this.startSettled = true;
    clearTimeout(this.startTimer);
    if (error) this.rejectStart?.(error);
    else this.resolveStart?.();
    this.resolveStart = undefined;
    this.rejectStart = undefined;
  }

  private report(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // The owner's reporter failing must not break the reconnect loop or reach ioredis.
    }
  }

  private open(): void {
    this.retryTimer = undefined;
    if (this.stopping) return;
    let connection: Redis | undefined;
    let failure: unknown;
    try {
      connection = this.createConnection();
    } catch (error) {
      failure = error;
    }
    if (!connection) {
      this.lastError = failure ?? new DedicatedSubscriberError('no master of the Redis Cluster is known yet');
      this.report(this.lastError);
      this.scheduleOpen();
      return;
    }
    this.connection = connection;
    let reported = false;
    const reportOnce = (error: unknown): void => {
      this.lastError = error;
      if (reported) return;
      reported = true;
      this.report(error);
    };
    connection.on('error', reportOnce);
    // Only the kinds the owner asked for: ioredis converts a payload to a string only for a `message` listener.
    if (this.options.onMessage) connection.on('message', this.deliverMessage);
    if (this.options.onPatternMessage) connection.on('pmessage', this.deliverPatternMessage);
    if (this.options.onMessageBuffer) connection.on('messageBuffer', this.deliverMessageBuffer);
    connection.once('ready', () => void this.listen(connection, reportOnce));
    connection.once('end', () => {
      if (connection !== this.connection) return;
      this.connection = undefined;
      const lost = this.failure('connection closed');
      const { onLost } = this.options;
      if (this.listening && onLost) {
        this.listening = false;
        try {
          onLost(lost);
        } catch (error) {
          this.report(error);
        }
      } else {
        this.listening = false;
        reportOnce(lost);
      }
      this.scheduleOpen();
    });
    connection.connect().catch(ignore);
  }

  private createConnection(): Redis | undefined {
    const { client } = this;
    if (!(client instanceof Cluster)) {
      return client.duplicate({ ...SINGLE_USE, connectionName: this.connectionName(client.options) });
    }
    const nodes = client.nodes('master');
    if (nodes.length === 0) return undefined;
    const others = nodes.filter((node) => nodeKey(node) !== this.lastNode);
    const candidates = others.length > 0 ? others : nodes;
    const node = candidates[Math.floor(Math.random() * candidates.length)] as Redis;
    this.lastNode = nodeKey(node);
    return node.duplicate({ ...SINGLE_USE, connectionName: this.connectionName(node.options) });
  }

  private connectionName(options: Partial<RedisOptions>): string {
    return this.options.connectionName ?? `${options.connectionName || 'redkit'}-${this.options.role}`;
  }

  private async listen(connection: Redis, reportOnce: (error: unknown) => void): Promise<void> {
    try {
      await this.options.setUp?.(connection);
      await this.subscribeAll(connection);
    } catch (error) {
      if (connection !== this.connection) return;
      // An error reply will not go away by retrying: fail start() with it rather than time out.
      if (
        !this.startSettled &&
        this.options.stopWhenRefused !== false &&
        error instanceof Error &&
        error.name === 'ReplyError'
      ) {
        this.lastError = error;
        this.settleStart(this.failure(`was refused by Redis: ${error.message}`, error));
        void this.stop();
        return;
      }
      reportOnce(error);
      connection.disconnect();
      return;
    }
    if (connection !== this.connection) return;
    this.attempts = 0;
    this.listening = true;
    const again = this.startSettled;
    this.settleStart();
    try {
      this.options.onListening?.(again);
    } catch (error) {
      this.report(error);
    }
  }

  /**
   * Subscribes every channel and pattern. Channels added or removed while a SUBSCRIBE was in flight
   * were only recorded (the connection was not listening yet), so it goes round until nothing changed.
   */
  private async subscribeAll(connection: Redis): Promise<void> {
    const channels = new Set<string>();
    const patterns = new Set<string>();
    for (;;) {
      const addChannels = [...this.channels].filter((channel) => !channels.has(channel));
      const addPatterns = [...this.patterns].filter((pattern) => !patterns.has(pattern));
      const dropChannels = [...channels].filter((channel) => !this.channels.has(channel));
      const dropPatterns = [...patterns].filter((pattern) => !this.patterns.has(pattern));
      if (addChannels.length + addPatterns.length + dropChannels.length + dropPatterns.length === 0) return;
      if (addChannels.length > 0) await connection.subscribe(...addChannels);
      if (addPatterns.length > 0) await connection.psubscribe(...addPatterns);
      if (dropChannels.length > 0) await connection.unsubscribe(...dropChannels);
      if (dropPatterns.length > 0) await connection.punsubscribe(...dropPatterns);
      for (const channel of addChannels) channels.add(channel);
      for (const pattern of addPatterns) patterns.add(pattern);
      for (const channel of dropChannels) channels.delete(channel);
      for (const pattern of dropPatterns) patterns.delete(pattern);
      if (connection !== this.connection) return;
    }
  }

  private scheduleOpen(): void {
    if (this.stopping) return;
    this.attempts += 1;
    this.retryTimer = setTimeout(() => this.open(), this.reconnectDelay(this.attempts));
    // A pending start() holds the process through its own timer; a background retry alone must not.
    this.retryTimer.unref();
  }

  private reconnectDelay(attempt: number): number {
    const { client } = this;
    const strategy =
      client instanceof Cluster ? client.options.clusterRetryStrategy : client.options.retryStrategy;
    const delay = typeof strategy === 'function' ? strategy(attempt) : undefined;
    return typeof delay === 'number' && delay >= 0 ? delay : defaultReconnectDelay(attempt);
  }

  // Handlers run inside ioredis's socket handler, where an exception would be uncaught.
  private readonly deliverMessage = (channel: string, message: string): void => {
    try {
      this.options.onMessage?.(channel, message);
    } catch (error) {
      this.report(error);
    }
  };

  private readonly deliverPatternMessage = (pattern: string, channel: string, message: string): void => {
    try {
      this.options.onPatternMessage?.(pattern, channel, message);
    } catch (error) {
      this.report(error);
    }
  };

  private readonly deliverMessageBuffer = (channel: Buffer, message: unknown): void => {
    try {
      this.options.onMessageBuffer?.(channel, message);
    } catch (error) {
      this.report(error);
    }
  };
}
