// One push channel per page (SSE at api/live), multiplexing every view's updates. Messages are
// batched (one delivery per topic per tick), and while the channel is down each subscribed view
// polls its JSON endpoint instead, with the page saying so.

export type Topic =
  'streams' | 'throughput' | 'events' | 'orderbook' | 'redis' | 'locks' | 'limits' | 'cache';

export type LiveState = 'connecting' | 'live' | 'polling';

interface Subscription {
  topic: Topic;
  onData: (data: unknown) => void;
  poll?: () => Promise<void>;
}

const TOPICS: Topic[] = ['streams', 'throughput', 'events', 'orderbook', 'redis', 'locks', 'limits', 'cache'];

/** Topics where every message counts; for the others only the newest body matters. */
const EVERY_MESSAGE: ReadonlySet<Topic> = new Set(['events', 'throughput', 'orderbook']);

const BATCH_MS = 100;
const POLL_MS = 2_000;
const MAX_QUEUED = 500;

const STATUS_TEXT: Record<LiveState, string> = {
  connecting: 'connecting to live updates…',
  live: 'live',
  polling: 'live updates paused: polling',
};

export class Live {
  private readonly subscriptions = new Set<Subscription>();
  private readonly queued = new Map<Topic, unknown[]>();
  private source: EventSource | undefined;
  private state: LiveState = 'connecting';
  private flushTimer: number | undefined;
  private pollTimer: number | undefined;
  private reconnectTimer: number | undefined;
  private reconnectDelayMs = 1_000;
  private polling = false;

  constructor(
    private readonly url: string,
    private readonly status: HTMLElement,
  ) {}

  /**
   * Delivers the messages of `topic` to `onData`; while the push channel is down, `poll` is called
   * every 2 s instead (it fetches and renders on its own). Returns the unsubscribe function.
   */
  subscribe(topic: Topic, onData: (data: unknown) => void, poll?: () => Promise<void>): () => void {
    const subscription: Subscription = { topic, onData, poll };
    this.subscriptions.add(subscription);
    return () => this.subscriptions.delete(subscription);
  }

  start(): void {
    this.showState();
    this.connect();
  }

  stop(): void {
    this.source?.close();
    this.source = undefined;
    window.clearTimeout(this.reconnectTimer);
    window.clearTimeout(this.flushTimer);
    window.clearInterval(this.pollTimer);
  }

  private connect(): void {
    const source = new EventSource(this.url);
    this.source = source;
    source.addEventListener('open', () => {
      const wasPolling = this.state === 'polling';
      this.reconnectDelayMs = 1_000;
      this.setState('live');
      // What changed while the channel was down was only seen by polling (or not at all): catch up once.
      if (wasPolling) void this.pollAll();
    });
    source.addEventListener('error', () => {
      this.setState('polling');
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, not a dropped connection): try again with a backoff.
        source.close();
        window.clearTimeout(this.reconnectTimer);
        this.reconnectTimer = window.setTimeout(() => this.connect(), this.reconnectDelayMs);
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 15_000);
      }
    });
    for (const topic of TOPICS) {
      source.addEventListener(topic, (event) => this.receive(topic, (event as MessageEvent<string>).data));
    }
  }

  private receive(topic: Topic, text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    const queue = this.queued.get(topic) ?? [];
    if (EVERY_MESSAGE.has(topic)) {
      queue.push(data);
      if (queue.length > MAX_QUEUED) queue.splice(0, queue.length - MAX_QUEUED);
    } else {
      queue.splice(0, queue.length, data);
    }
    this.queued.set(topic, queue);
    this.flushTimer ??= window.setTimeout(() => this.flush(), BATCH_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const batches = [...this.queued];
    this.queued.clear();
    for (const [topic, messages] of batches) {
      for (const subscription of this.subscriptions) {
        if (subscription.topic !== topic) continue;
        for (const message of messages) {
          try {
            subscription.onData(message);
          } catch (error) {
            // One view failing to render must not stop the others.
            reportError(error);
          }
        }
      }
    }
  }

  private setState(state: LiveState): void {
    if (this.state === state) return;
    this.state = state;
    this.showState();
    window.clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    if (state === 'polling') this.pollTimer = window.setInterval(() => void this.pollAll(), POLL_MS);
  }

  private showState(): void {
    this.status.textContent = STATUS_TEXT[this.state];
    this.status.dataset.state = this.state;
  }

  private async pollAll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all(
        [...this.subscriptions].map((subscription) => subscription.poll?.().catch(() => undefined)),
      );
    } finally {
      this.polling = false;
    }
  }
}
