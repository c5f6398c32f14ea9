import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';

import type { ConsoleEvent, EventBatch } from './console-api.types.js';
import { CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { ConsolePeers, type EnvelopeLike } from './console-peers.js';
import { PayloadRedactor } from './payload-redactor.js';

/** Events kept for `GET api/events`. */
const RECENT = 200;
/** How often the live stream gets a batch. */
const BATCH_MS = 250;
/** The subscription is dropped after this long without a reader (no page, no request). */
const IDLE_MS = 60_000;

/**
 * The event bus's live tail: subscribes to every event type (`*`) only while someone looks (a
 * request to `api/events` or an open live stream, then a minute more), keeps the last 200 raw, and
 * hands the live stream batches every 250 ms of at most `tailPerSecond` events a second, counting
 * the rest as dropped. Payloads are redacted and cut when shown, never when received, so a busy bus
 * costs the process little more than the subscription itself.
 */
@Injectable()
export class EventTail implements OnApplicationShutdown {
  private readonly recent: EnvelopeLike[] = [];
  private subscription?: Promise<{ unsubscribe(): Promise<void> } | undefined>;
  private lastInterest = 0;
  private idleTimer?: NodeJS.Timeout;
  private batchTimer?: NodeJS.Timeout;
  private readonly listeners = new Set<(batch: EventBatch) => void>();
  private pending: EnvelopeLike[] = [];
  private dropped = 0;
  private windowStart = 0;
  private windowCount = 0;

  constructor(
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
    @Inject(PayloadRedactor) private readonly redactor: PayloadRedactor,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
  ) {}

  /** The last `limit` events seen (newest last); starts listening when not yet. */
  async recentEvents(limit: number): Promise<ConsoleEvent[]> {
    await this.listen();
    return this.recent.slice(-limit).map((envelope) => this.show(envelope));
  }

  /** Calls `listener` with a batch every 250 ms while events come; returns a function that stops it. */
  follow(listener: (batch: EventBatch) => void): () => void {
    this.listeners.add(listener);
    void this.listen();
    this.batchTimer ??= setInterval(() => this.flush(), BATCH_MS);
    this.batchTimer.unref();
    return () => {
      this.listeners.delete(listener);
      this.lastInterest = Date.now();
      if (this.listeners.size === 0) {
        clearInterval(this.batchTimer);
        this.batchTimer = undefined;
        this.pending = [];
        this.dropped = 0;
      }
    };
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.batchTimer);
    clearTimeout(this.idleTimer);
    this.listeners.clear();
    await this.stop();
  }

  private listen(): Promise<unknown> {
    this.lastInterest = Date.now();
    const { bus } = this.peers;
    if (bus === undefined) return Promise.resolve();
    if (this.subscription === undefined) {
      this.subscription = bus.subscribe('*', (event) => this.receive(event)).catch(() => undefined);
      this.scheduleIdleCheck();
    }
    return this.subscription;
  }

  private receive(envelope: EnvelopeLike): void {
    this.recent.push(envelope);
    if (this.recent.length > RECENT) this.recent.shift();
    if (this.listeners.size === 0) return;
    const now = Date.now();
    if (now - this.windowStart >= 1_000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (this.windowCount < this.options.tailPerSecond) {
      this.windowCount += 1;
      this.pending.push(envelope);
    } else this.dropped += 1;
  }

  private flush(): void {
    if (this.pending.length === 0 && this.dropped === 0) return;
    const batch: EventBatch = {
      events: this.pending.map((envelope) => this.show(envelope)),
      dropped: this.dropped,
    };
    this.pending = [];
    this.dropped = 0;
    for (const listener of this.listeners) listener(batch);
  }

  private show(envelope: EnvelopeLike): ConsoleEvent {
    const at = Date.parse(envelope.time);
    const { payload, truncated } = this.redactor.payload(envelope.data);
    return {
      at: Number.isFinite(at) ? at : Date.now(),
      type: envelope.type,
      source: envelope.source,
      payload,
      truncated,
    };
  }

  private scheduleIdleCheck(): void {
    this.idleTimer = setTimeout(() => {
      if (this.listeners.size === 0 && Date.now() - this.lastInterest >= IDLE_MS) void this.stop();
      else this.scheduleIdleCheck();
    }, IDLE_MS);
    this.idleTimer.unref();
  }

  private async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    clearTimeout(this.idleTimer);
    await (await subscription)?.unsubscribe().catch(() => undefined);
  }
}
