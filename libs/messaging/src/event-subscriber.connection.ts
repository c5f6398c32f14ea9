import type { RedisClient } from '@redkit/redis';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';

/** What the subscriber connection reports to its owner (the event bus). */
export interface SubscriberConnectionHandlers {
  /** Every channel and pattern to (re)subscribe on a new connection. */
  channels(): { exact: string[]; patterns: string[] };
  /** `subscription` is the channel or pattern the message came through; once per matching subscription. */
  onMessage(subscription: string, channel: string, message: string): void;
  /** The first connection listens (`again` false), or a later one after a loss (`again` true). */
  onListening(again: boolean): void;
  /** A listening connection was lost. */
  onLost(error: unknown): void;
  /** A connection attempt or a (re)subscribe failed; it is retried after a back-off. */
  onError(error: unknown): void;
}

const STOP_TIMEOUT_MS = 1_000;

function reconnectDelay(attempt: number): number {
  const ceiling = Math.min(2_000, 50 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * @internal The event bus's dedicated subscriber connection. Each ioredis connection is single-use
 * (`retryStrategy: null`, `autoResubscribe: false`): when it ends, a fresh one is opened after a back-off
 * and every channel is subscribed again before `onListening(true)` fires, so the reconnect hook runs
 * only once events flow again. On a Cluster it connects to one master of the current topology (classic
 * pub/sub reaches every node) and moves to another when that one goes away.
 */
export class SubscriberConnection {
  private connection?: Redis;
  private listening = false;
  private everListened = false;
  private attempts = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private lastNode?: string;

  constructor(
    private readonly client: RedisClient,
    private readonly handlers: SubscriberConnectionHandlers,
  ) {}

  get isListening(): boolean {
    return this.listening;
  }

  start(): void {
    if (this.connection === undefined && this.retryTimer === undefined && !this.stopped) this.open();
  }

  /** Subscribes on the live connection; a connection made later subscribes by itself. */
  async subscribe(channel: string, isPattern: boolean): Promise<void> {
    const { connection } = this;
    if (!this.listening || connection === undefined) return;
    await (isPattern ? connection.psubscribe(channel) : connection.subscribe(channel));
  }

  async unsubscribe(channel: string, isPattern: boolean): Promise<void> {
    const { connection } = this;
    if (!this.listening || connection === undefined) return;
    await (isPattern ? connection.punsubscribe(channel) : connection.unsubscribe(channel));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const { connection } = this;
    this.connection = undefined;
    this.listening = false;
    if (connection === undefined || connection.status === 'end') return;
    const ended = new Promise<void>((resolve) => {
      connection.once('end', () => resolve());
      setTimeout(resolve, STOP_TIMEOUT_MS).unref();
    });
    connection.disconnect();
    await ended;
  }

  private open(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    let connection: Redis | undefined;
    try {
      connection = this.createConnection();
    } catch (error) {
      this.handlers.onError(error);
    }
    if (connection === undefined) {
      this.scheduleOpen();
      return;
    }
    this.connection = connection;
    const current = connection;
    let failed = false;
    current.on('error', (error: unknown) => {
      if (!failed) this.handlers.onError(error);
      failed = true;
    });
    current.on('message', (channel: string, message: string) =>
      this.handlers.onMessage(channel, channel, message),
    );
    current.on('pmessage', (pattern: string, channel: string, message: string) =>
      this.handlers.onMessage(pattern, channel, message),
    );
    current.once('ready', () => void this.listen(current));
    current.once('end', () => {
      if (current !== this.connection) return;
      this.connection = undefined;
      if (this.listening) {
        this.listening = false;
        this.handlers.onLost(new Error('subscriber connection closed'));
      }
      this.scheduleOpen();
    });
    current.connect().catch(() => undefined);
  }

  private async listen(connection: Redis): Promise<void> {
    const { exact, patterns } = this.handlers.channels();
    try {
      if (exact.length > 0) await connection.subscribe(...exact);
      if (patterns.length > 0) await connection.psubscribe(...patterns);
    } catch (error) {
      if (connection !== this.connection) return;
      this.handlers.onError(error);
      connection.disconnect();
      return;
    }
    if (connection !== this.connection) return;
    // Channels added while the set-up ran were skipped by subscribe() (not listening yet): add them.
    const now = this.handlers.channels();
    const missingExact = now.exact.filter((channel) => !exact.includes(channel));
    const missingPatterns = now.patterns.filter((pattern) => !patterns.includes(pattern));
    try {
      if (missingExact.length > 0) await connection.subscribe(...missingExact);
      if (missingPatterns.length > 0) await connection.psubscribe(...missingPatterns);
    } catch (error) {
      this.handlers.onError(error);
      connection.disconnect();
      return;
    }
    this.attempts = 0;
    this.listening = true;
    const again = this.everListened;
    this.everListened = true;
    this.handlers.onListening(again);
  }

  private scheduleOpen(): void {
    if (this.stopped) return;
    this.attempts += 1;
    this.retryTimer = setTimeout(() => this.open(), reconnectDelay(this.attempts));
    this.retryTimer.unref();
  }

  private createConnection(): Redis | undefined {
    const overrides: Partial<RedisOptions> = {
      lazyConnect: true,
      autoResubscribe: false,
      enableAutoPipelining: false,
      enableOfflineQueue: false,
      retryStrategy: null,
    };
    const { client } = this;
    if (!(client instanceof Cluster)) {
      return client.duplicate({ ...overrides, connectionName: subscriberName(client.options) });
    }
    const nodes = client.nodes('master');
    if (nodes.length === 0) return undefined;
    const others = nodes.filter((node) => nodeKey(node) !== this.lastNode);
    const candidates = others.length > 0 ? others : nodes;
    const node = candidates[Math.floor(Math.random() * candidates.length)] as Redis;
    this.lastNode = nodeKey(node);
    return node.duplicate({ ...overrides, connectionName: subscriberName(node.options) });
  }
}

function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

function subscriberName(options: RedisOptions): string {
  return options.connectionName ? `${options.connectionName}:events` : 'redkit:events';
}
