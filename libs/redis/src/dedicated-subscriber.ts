import { Cluster, Command, Redis, type RedisOptions } from 'ioredis';

import type { RedisClient } from './redis-client.js';
import { clusterKeySlot } from './cluster-key-slot.js';
import { RedisKitError } from './redis.errors.js';

/** How long stop() waits for the sockets to close before it stops waiting. */
const STOP_TIMEOUT_MS = 1_000;
/** For the start() bound when the client does not say: ioredis's connectTimeout, redkit's commandTimeoutMs. */
const FALLBACK_CONNECT_TIMEOUT_MS = 10_000;
const FALLBACK_COMMAND_TIMEOUT_MS = 1_000;
/** Longest wait for the Cluster client's slot map to be refreshed before shard channels are placed again. */
const SLOTS_REFRESH_WAIT_MS = 2_000;

/** Every connection is made by hand and used once: ioredis must neither reconnect nor resubscribe it. */
const SINGLE_USE: Partial<RedisOptions> = Object.freeze({
  lazyConnect: true,
  autoResubscribe: false,
  enableAutoPipelining: false,
  enableOfflineQueue: false,
  retryStrategy: null,
});

/** The link of a subscriber that is not placed by slot: classic pub/sub, or anything off a Cluster. */
const ANY_NODE = '';

/**
 * Error replies a shard subscription gets while the Cluster moves slots or recovers: they go away by
 * trying again (at the slot's owner, once the slot map is refreshed), so they never count as a refusal.
 */
const TRANSIENT_REPLY = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN)\b/;

const RESOLVED: Promise<void> = Promise.resolve();

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
  /**
   * Sharded pub/sub (Redis 7): the channels are shard channels, subscribed with SSUBSCRIBE and
   * published to with SPUBLISH, and their messages reach `onMessage` / `onMessageBuffer`. On a
   * Cluster each is subscribed on the master that owns its slot (one connection per such master), and
   * moves with its slot. There are no shard patterns, so `patterns` and psubscribe() are refused.
   * Default false.
   */
  sharded?: boolean;
  /** Channels subscribed on every connection; {@link DedicatedSubscriber.subscribe} adds more. */
  channels?: readonly string[];
  /** Patterns subscribed on every connection; {@link DedicatedSubscriber.psubscribe} adds more. */
  patterns?: readonly string[];
  /**
   * Runs on every new connection once it is ready, before the channels and patterns are subscribed
   * (e.g. `CLIENT TRACKING ... REDIRECT <own id>`). A rejection fails this connection like a lost one.
   */
  setUp?(connection: Redis): Promise<void>;
  /** A message on a subscribed channel, as strings (ioredis `message`, or `smessage` when sharded). */
  onMessage?(channel: string, message: string): void;
  /** A message through a subscribed pattern, as strings (ioredis `pmessage`). */
  onPatternMessage?(pattern: string, channel: string, message: string): void;
  /**
   * A message on a subscribed channel, raw (ioredis `messageBuffer`, or `smessageBuffer` when sharded):
   * a Buffer, or what the server sent instead (CLIENT TRACKING's RESP2 invalidations are an array of
   * keys, or null after a flush).
   */
  onMessageBuffer?(channel: Buffer, message: unknown): void;
  /**
   * Listening, with every channel and pattern subscribed. `again` is false for the listening that
   * resolves start(), true for every later one (after a lost connection, a shard channel whose slot
   * moved, or after start() timed out): messages published meanwhile were missed.
   */
  onListening?(again: boolean): void;
  /** A listening connection was lost (or its shard channels moved); without this hook, the loss goes to `onError`. */
  onLost?(error: Error): void;
  /**
   * From now on messages may be missed, until `onListening(true)`: a listening connection was lost
   * (before `onLost`), or start() gave up waiting while it keeps trying. Not called when the
   * subscriber stops (a refused set-up, stop()).
   */
  onMissed?(): void;
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

/** What is subscribed on one connection, as the server confirmed it. */
interface Session {
  readonly connection: Redis;
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  /** The subscription rounds in flight, if any; every change waits for them. */
  syncing?: Promise<void>;
  inRounds?: boolean;
  /** Shard (un)subscriptions awaiting their reply: a MOVED leaves them unanswered, so they are failed then. */
  readonly inFlight: Set<Command>;
}

/**
 * One connection's worth of subscriptions: the only one of a classic or standalone subscriber, or on
 * a Cluster with `sharded`, one per master that owns the slot of a subscribed shard channel.
 */
interface Link {
  /** {@link ANY_NODE}, or the `host:port` of the master this link's shard channels hash to. */
  readonly node: string;
  /** The shard channels placed on this master (shard links only; the other link carries every channel). */
  readonly channels: Set<string>;
  connection?: Redis;
  session?: Session;
  listening: boolean;
  /** It listened since it was made: losing it now loses messages. */
  joined: boolean;
  attempts: number;
  retryTimer?: NodeJS.Timeout;
  /** The master the last classic connection on a Cluster went to, avoided next time when another is known. */
  lastNode?: string;
  /** subscribe() calls that made this link and wait for its first listening (or failure). */
  joiners: Array<(error?: unknown) => void>;
  /** Closed for good: stopped, or its shard channels all went elsewhere. */
  closed: boolean;
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
 * - With `sharded` on a Cluster, each shard channel is subscribed on the master owning its slot, one
 *   connection per such master, one SSUBSCRIBE per channel (channels of different slots in one command
 *   are refused with CROSSSLOT). When that master restarts, or the slot moves (the server then pushes
 *   `sunsubscribe`, which ioredis reports as a "Command queue state error"; a SSUBSCRIBE sent to the old
 *   owner answers MOVED, which ioredis swallows, leaving the command pending), the connection is
 *   replaced: the Cluster client's slot map is refreshed, the channels are placed on their owners again
 *   and subscribed there, and that counts as a loss (`onLost`, then `onListening(true)`).
 * - stop() closes the connections (the server drops their subscriptions and tracking with them) within
 *   a second, and no new one is made.
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
  private readonly sharded: boolean;
  /** Shard channels are placed on the master owning their slot: `sharded` on a Cluster. */
  private readonly placing: boolean;
  private readonly links = new Map<string, Link>();
  /** Where each shard channel is subscribed (placing only). */
  private readonly placement = new Map<string, Link>();
  /** Shard channels whose slot has no known owner yet (placing only); placed again after a back-off. */
  private readonly unplaced = new Set<string>();
  private placementTimer?: NodeJS.Timeout;
  private placementAttempts = 0;
  /** The Cluster client's slot map refresh asked for after a MOVED or a pushed sunsubscribe. */
  private slotsRefresh?: Promise<void>;
  private listening = false;
  /** A loss (or start() timing out) happened and the next listening is "again". */
  private missed = false;
  private startTimer?: NodeJS.Timeout;
  private starting?: Promise<void>;
  private resolveStart?: () => void;
  private rejectStart?: (error: Error) => void;
  private startSettled = false;
  private lastError: unknown;
  private stopping?: Promise<void>;

  constructor(private readonly options: DedicatedSubscriberOptions) {
    const { client, role, startTimeoutMs, sharded = false } = options;
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
    if (typeof sharded !== 'boolean') {
      throw new DedicatedSubscriberError('DedicatedSubscriber option "sharded" must be a boolean');
    }
    if (sharded && (options.patterns?.length ?? 0) > 0) {
      throw new DedicatedSubscriberError(
        'DedicatedSubscriber option "patterns" cannot be used with "sharded": SSUBSCRIBE has no pattern form',
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
    this.sharded = sharded;
    this.placing = sharded && client instanceof Cluster;
  }

  /** True while a connection is up with every channel and pattern subscribed (every connection, when sharded). */
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
    if (this.starting !== undefined) return this.starting;
    this.starting = new Promise<void>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
      if (this.startTimeoutMs !== Number.POSITIVE_INFINITY) {
        this.startTimer = setTimeout(() => {
          const last = this.lastError === undefined ? '' : `; last error: ${describeError(this.lastError)}`;
          // Whatever listens later, messages published until then were missed.
          this.missed = true;
          this.notifyMissed();
          this.settleStart(
            this.failure(
              `is not listening within ${this.startTimeoutMs} ms${last} (it keeps trying in the background)`,
              this.lastError,
            ),
          );
        }, this.startTimeoutMs);
      }
    });
    // After `starting` is set: with no shard channel to place, update() settles it right here.
    if (this.placing) {
      for (const channel of this.channels) this.place(channel);
      this.update();
    } else {
      this.open(this.link(ANY_NODE));
    }
    return this.starting;
  }

  /**
   * Adds a channel: subscribed now on a listening connection (rejecting if that fails), and on every
   * connection made later in any case. A shard channel whose master has no connection of this
   * subscriber yet gets one; the call then resolves once it listens (or rejects with its first failure,
   * while it keeps trying in the background).
   */
  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    if (!this.placing) return this.syncListening(this.links.get(ANY_NODE));
    if (this.starting === undefined || this.stopping || this.placement.has(channel)) return;
    // During an outage the channel is only recorded: the listening that ends it covers it.
    const healthy = this.startSettled && !this.missed;
    const link = this.place(channel);
    this.update();
    if (link === undefined || !healthy) return;
    if (link.listening) return this.syncListening(link);
    return new Promise<void>((resolve, reject) =>
      link.joiners.push((error) => (error === undefined ? resolve() : reject(error))),
    );
  }

  /** Adds a pattern, like {@link subscribe}. Refused when `sharded`. */
  async psubscribe(pattern: string): Promise<void> {
    if (this.sharded) throw this.failure('cannot subscribe to a pattern: SSUBSCRIBE has no pattern form');
    this.patterns.add(pattern);
    return this.syncListening(this.links.get(ANY_NODE));
  }

  /** Removes a channel: unsubscribed now on a listening connection, and not subscribed again. */
  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    if (!this.placing) return this.syncListening(this.links.get(ANY_NODE));
    this.unplaced.delete(channel);
    const link = this.placement.get(channel);
    if (link === undefined) return;
    this.placement.delete(channel);
    link.channels.delete(channel);
    // A connection that carries nothing more is closed rather than kept listening to nothing.
    if (link.channels.size === 0) {
      this.closeLink(link, this.failure(`unsubscribed from ${channel}`));
      this.update();
      return;
    }
    return this.syncListening(link);
  }

  /** Removes a pattern, like {@link unsubscribe}. */
  async punsubscribe(pattern: string): Promise<void> {
    this.patterns.delete(pattern);
    return this.syncListening(this.links.get(ANY_NODE));
  }

  /** Closes the connections and stops reconnecting; resolves once they closed, or after a second at most. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.placementTimer);
      this.settleStart(this.failure('was stopped before it listened'));
      this.listening = false;
      const stopped = this.failure('was stopped');
      const closing = [...this.links.values()].map((link) => this.closeLink(link, stopped));
      await Promise.all(closing);
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

  /** The link of `node`, made (not opened) when there is none. */
  private link(node: string): Link {
    let link = this.links.get(node);
    if (link === undefined) {
      link = {
        node,
        channels: new Set(),
        listening: false,
        joined: false,
        attempts: 0,
        joiners: [],
        closed: false,
      };
      this.links.set(node, link);
    }
    return link;
  }

  /** The `host:port` of the master that owns `channel`'s slot in the Cluster client's slot map. */
  private ownerOf(channel: string): string | undefined {
    return (this.client as Cluster).slots[clusterKeySlot(channel)]?.[0];
  }

  /**
   * Puts a shard channel on the link of its slot's owner, made and opened when new; returns it, or
   * undefined when no owner is known yet (then it is placed again after a back-off).
   */
  private place(channel: string): Link | undefined {
    const node = this.ownerOf(channel);
    if (node === undefined) {
      this.unplaced.add(channel);
      this.schedulePlacement();
      return undefined;
    }
    this.unplaced.delete(channel);
    const isNew = !this.links.has(node);
    const link = this.link(node);
    link.channels.add(channel);
    this.placement.set(channel, link);
    if (isNew) this.open(link);
    return link;
  }

  private schedulePlacement(): void {
    if (this.placementTimer !== undefined || this.stopping) return;
    this.placementAttempts += 1;
    this.placementTimer = setTimeout(() => {
      this.placementTimer = undefined;
      for (const channel of [...this.unplaced]) {
        const link = this.place(channel);
        if (link?.listening) this.owe(link);
      }
      if (this.unplaced.size === 0) this.placementAttempts = 0;
      this.update();
    }, this.reconnectDelay(this.placementAttempts));
    this.placementTimer.unref();
  }

  /**
   * Moves the shard channels of `link` whose slot another master owns now onto that master's link
   * (made when new). Runs before each reconnection of a shard link, once the slot map is fresh.
   */
  private replace(link: Link): void {
    for (const channel of [...link.channels]) {
      const owner = this.ownerOf(channel);
      // Unknown: try where it was; a MOVED will tell.
      if (owner === undefined || owner === link.node) continue;
      link.channels.delete(channel);
      this.placement.delete(channel);
      const target = this.place(channel);
      if (target?.listening) this.owe(target);
    }
  }

  /**
   * A listening link was given channels it does not carry yet (moved from a lost one): it stops counting
   * as listening until they are subscribed, so `onListening(true)` comes after them. A failure replaces
   * its connection, which subscribes everything anew.
   */
  private owe(link: Link): void {
    const session = link.session;
    if (session === undefined) return;
    link.listening = false;
    this.update();
    this.sync(link, session).then(
      () => {
        if (link.session !== session || link.closed) return;
        link.listening = true;
        this.update();
      },
      (error: unknown) => {
        if (link.session !== session) return;
        this.report(error);
        session.connection.disconnect();
      },
    );
  }

  /** Subscribes what changed on a listening link (nothing to do on one that is connecting: it will). */
  private syncListening(link: Link | undefined): Promise<void> {
    const session = link?.session;
    if (link === undefined || !link.listening || session === undefined) return RESOLVED;
    return this.sync(link, session);
  }

  /** Closes `link` for good; its joiners fail with `reason`. */
  private closeLink(link: Link, reason: Error): Promise<void> {
    link.closed = true;
    link.listening = false;
    clearTimeout(link.retryTimer);
    if (this.links.get(link.node) === link) this.links.delete(link.node);
    this.settleJoiners(link, reason);
    const { connection } = link;
    link.connection = undefined;
    link.session = undefined;
    if (!connection || connection.status === 'end') return RESOLVED;
    const ended = new Promise<void>((resolve) => {
      connection.once('end', () => resolve());
      setTimeout(resolve, STOP_TIMEOUT_MS).unref();
    });
    connection.disconnect();
    return ended;
  }

  private settleJoiners(link: Link, error?: unknown): void {
    const joiners = link.joiners.splice(0);
    for (const settle of joiners) settle(error);
  }

  /**
   * Listening as a whole: started, every shard channel placed, every link listening. Says so to the
   * owner when that is new after start() (`again` false) or after a loss (`again` true); a link that
   * only joined for a new channel is no news.
   */
  private update(): void {
    const listening =
      this.starting !== undefined &&
      this.stopping === undefined &&
      this.unplaced.size === 0 &&
      [...this.links.values()].every((link) => link.listening);
    if (listening === this.listening) return;
    this.listening = listening;
    if (!listening) return;
    let again: boolean;
    if (!this.startSettled) {
      this.settleStart();
      again = false;
    } else if (this.missed) {
      again = true;
    } else {
      return;
    }
    this.missed = false;
    try {
      this.options.onListening?.(again);
    } catch (error) {
      this.report(error);
    }
  }

  /** Opens a connection for `link` (after the slot map refresh in progress, when it is a shard link). */
  private open(link: Link): void {
    link.retryTimer = undefined;
    if (this.stopping || link.closed) return;
    if (link.node !== ANY_NODE && this.slotsRefresh !== undefined) {
      this.slotsRefresh.then(() => this.connect(link), ignore);
      return;
    }
    this.connect(link);
  }

  private connect(link: Link): void {
    if (this.stopping || link.closed || link.connection !== undefined) return;
    if (link.node !== ANY_NODE) {
      this.replace(link);
      if (link.channels.size === 0) {
        this.closeLink(link, this.failure('has no channel left on this master'));
        this.update();
        return;
      }
    }
    let connection: Redis | undefined;
    let failure: unknown;
    try {
      connection = this.createConnection(link);
    } catch (error) {
      failure = error;
    }
    if (!connection) {
      this.lastError = failure ?? new DedicatedSubscriberError('no master of the Redis Cluster is known yet');
      this.report(this.lastError);
      this.settleJoiners(link, this.lastError);
      this.scheduleOpen(link);
      return;
    }
    link.connection = connection;
    const session: Session = { connection, channels: new Set(), patterns: new Set(), inFlight: new Set() };
    let reported = false;
    const reportOnce = (error: unknown): void => {
      this.lastError = error;
      if (reported) return;
      reported = true;
      this.report(error);
    };
    connection.on('error', (error: Error) => {
      // On a shard connection, this is the server unsubscribing it (see the class notes), said once.
      if (link.node !== ANY_NODE && /sunsubscribe/.test(error.message)) {
        this.moved(link, session, 'the server unsubscribed its shard channels (their slot moved)');
        return;
      }
      reportOnce(error);
    });
    if (link.node !== ANY_NODE) {
      connection.on('moved', () =>
        this.moved(link, session, 'a shard channel is served by another master (MOVED)'),
      );
    }
    // Only the kinds the owner asked for: ioredis converts a payload to a string only for a `message` listener.
    const [messageEvent, bufferEvent] = this.sharded
      ? ['smessage', 'smessageBuffer']
      : ['message', 'messageBuffer'];
    if (this.options.onMessage) connection.on(messageEvent, this.deliverMessage);
    if (this.options.onPatternMessage) connection.on('pmessage', this.deliverPatternMessage);
    if (this.options.onMessageBuffer) connection.on(bufferEvent, this.deliverMessageBuffer);
    connection.once('ready', () => void this.listen(link, session, reportOnce));
    connection.once('end', () => this.ended(link, connection, reportOnce));
    connection.connect().catch(ignore);
  }

  /** Tells the owner that messages may be missed from now on; a throwing hook is reported. */
  private notifyMissed(): void {
    try {
      this.options.onMissed?.();
    } catch (error) {
      this.report(error);
    }
  }

  private ended(link: Link, connection: Redis, reportOnce: (error: unknown) => void): void {
    if (connection !== link.connection) return;
    link.connection = undefined;
    link.session = undefined;
    link.listening = false;
    const lost = this.failure('connection closed');
    const { onLost } = this.options;
    if (link.joined && this.startSettled && !this.missed) {
      this.missed = true;
      this.notifyMissed();
      this.update();
      if (onLost) {
        try {
          onLost(lost);
        } catch (error) {
          this.report(error);
        }
      } else {
        reportOnce(lost);
      }
    } else {
      this.update();
      reportOnce(lost);
    }
    this.settleJoiners(link, this.lastError ?? lost);
    this.scheduleOpen(link);
  }

  /**
   * A shard link's channels are no longer (all) served by its master: refresh the Cluster client's
   * slot map and replace the connection; the reconnection places the channels on their new owners.
   */
  private moved(link: Link, session: Session, why: string): void {
    if (link.session !== session) return;
    // Given up at once: its later events are moot, and the SSUBSCRIBE that MOVED left unanswered is failed
    // (else it holds its command timer, and whoever waits on it, until the command timeout).
    link.session = undefined;
    const abandoned = this.failure(`gave up a shard subscription on ${link.node}: ${why}`);
    for (const command of session.inFlight) command.reject(abandoned);
    session.inFlight.clear();
    this.report(this.failure(`${why} on ${link.node}; subscribing again where its slot lives now`));
    this.refreshSlots();
    session.connection.disconnect();
  }

  private refreshSlots(): void {
    if (this.slotsRefresh !== undefined || !(this.client instanceof Cluster)) return;
    const cluster = this.client;
    this.slotsRefresh = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SLOTS_REFRESH_WAIT_MS);
      timer.unref();
      cluster.refreshSlotsCache(() => {
        clearTimeout(timer);
        resolve();
      });
    }).finally(() => {
      this.slotsRefresh = undefined;
    });
  }

  private createConnection(link: Link): Redis | undefined {
    const { client } = this;
    if (!(client instanceof Cluster)) {
      return client.duplicate({ ...SINGLE_USE, connectionName: this.connectionName(client.options) });
    }
    if (link.node !== ANY_NODE) {
      const known = client.nodes('all').find((node) => nodeKey(node) === link.node);
      if (known !== undefined) {
        return known.duplicate({ ...SINGLE_USE, connectionName: this.connectionName(known.options) });
      }
      // Not in the client's pool (yet, or any more while it reconnects): the same options, at that address.
      const colon = link.node.lastIndexOf(':');
      const options = nodeOptionsOf(client);
      return new Redis({
        ...options,
        host: link.node.slice(0, colon),
        port: Number(link.node.slice(colon + 1)),
        ...SINGLE_USE,
        connectionName: this.connectionName(options),
      });
    }
    const nodes = client.nodes('master');
    if (nodes.length === 0) return undefined;
    const others = nodes.filter((node) => nodeKey(node) !== link.lastNode);
    const candidates = others.length > 0 ? others : nodes;
    const node = candidates[Math.floor(Math.random() * candidates.length)] as Redis;
    link.lastNode = nodeKey(node);
    return node.duplicate({ ...SINGLE_USE, connectionName: this.connectionName(node.options) });
  }

  private connectionName(options: Partial<RedisOptions>): string {
    return this.options.connectionName ?? `${options.connectionName || 'redkit'}-${this.options.role}`;
  }

  private async listen(link: Link, session: Session, reportOnce: (error: unknown) => void): Promise<void> {
    link.session = session;
    const { connection } = session;
    try {
      await this.options.setUp?.(connection);
      await this.sync(link, session);
    } catch (error) {
      if (link.session !== session) return;
      // An error reply will not go away by retrying: fail start() with it rather than time out.
      if (
        !this.startSettled &&
        this.options.stopWhenRefused !== false &&
        error instanceof Error &&
        error.name === 'ReplyError' &&
        !TRANSIENT_REPLY.test(error.message)
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
    if (link.session !== session) return;
    link.attempts = 0;
    link.listening = true;
    link.joined = true;
    this.settleJoiners(link);
    this.update();
  }

  /**
   * Makes the session's subscriptions match what the link should carry. Channels added or removed while
   * a command was in flight are picked up by the next round, so it goes round until nothing changed;
   * concurrent callers share the rounds in flight.
   */
  private sync(link: Link, session: Session): Promise<void> {
    if (session.syncing !== undefined) return session.syncing;
    const rounds = this.syncRounds(link, session);
    // Rounds that had nothing to send ended before returning: nothing to share.
    if (session.inRounds) session.syncing = rounds;
    return rounds;
  }

  private async syncRounds(link: Link, session: Session): Promise<void> {
    const { connection } = session;
    session.inRounds = true;
    // Set free synchronously at the end: a caller arriving after the last round starts a new one.
    try {
      for (;;) {
        const wanted = link.node === ANY_NODE ? this.channels : link.channels;
        const addChannels = [...wanted].filter((channel) => !session.channels.has(channel));
        const addPatterns = [...this.patterns].filter((pattern) => !session.patterns.has(pattern));
        const dropChannels = [...session.channels].filter((channel) => !wanted.has(channel));
        const dropPatterns = [...session.patterns].filter((pattern) => !this.patterns.has(pattern));
        if (addChannels.length + addPatterns.length + dropChannels.length + dropPatterns.length === 0) return;
        if (this.sharded) {
          // One command per channel: SSUBSCRIBE of channels in different slots is refused (CROSSSLOT).
          for (const channel of addChannels) await this.shardCommand(session, 'ssubscribe', channel);
          for (const channel of dropChannels) await this.shardCommand(session, 'sunsubscribe', channel);
        } else {
          if (addChannels.length > 0) await connection.subscribe(...addChannels);
          if (addPatterns.length > 0) await connection.psubscribe(...addPatterns);
          if (dropChannels.length > 0) await connection.unsubscribe(...dropChannels);
          if (dropPatterns.length > 0) await connection.punsubscribe(...dropPatterns);
        }
        for (const channel of addChannels) session.channels.add(channel);
        for (const pattern of addPatterns) session.patterns.add(pattern);
        for (const channel of dropChannels) session.channels.delete(channel);
        for (const pattern of dropPatterns) session.patterns.delete(pattern);
        if (link.session !== session) return;
      }
    } finally {
      session.inRounds = false;
      session.syncing = undefined;
    }
  }

  /** One SSUBSCRIBE or SUNSUBSCRIBE, kept in `session.inFlight` until it is answered. */
  private async shardCommand(
    session: Session,
    name: 'ssubscribe' | 'sunsubscribe',
    channel: string,
  ): Promise<void> {
    const command = new Command(name, [channel]);
    session.inFlight.add(command);
    try {
      await session.connection.sendCommand(command);
    } finally {
      session.inFlight.delete(command);
    }
  }

  private scheduleOpen(link: Link): void {
    if (this.stopping || link.closed) return;
    link.attempts += 1;
    link.retryTimer = setTimeout(() => this.open(link), this.reconnectDelay(link.attempts));
    // A pending start() holds the process through its own timer; a background retry alone must not.
    link.retryTimer.unref();
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
