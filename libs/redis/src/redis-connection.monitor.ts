import { describeConnectionFailure } from './redis-connection-errors.js';
import type { RedisClient } from './redis-client.js';
import { RedkitLogger } from './tracing/redkit-logger.js';

/** How often, at most, a still-failing connection is reported again. */
const REPEAT_REPORT_MS = 30_000;

/** What the monitor knows of a connection, for health checks and logs. */
export interface RedisConnectionState {
  status: 'connecting' | 'ready' | 'down' | 'closed';
  /** When the current outage began (epoch ms), while `status` is `down`. */
  downSince?: number;
  lastError?: string;
}

/**
 * Logs connection state changes without flooding: one line when a connection goes down, a summary
 * at most every 30 s while it stays down, one line when it is back. It also keeps ioredis from
 * printing "Unhandled error event", since it always listens for `error`.
 */
export class RedisConnectionMonitor {
  private readonly logger: RedkitLogger;
  private current: RedisConnectionState = { status: 'connecting' };
  private errorsSinceReport = 0;
  private lastReportAt = 0;
  private everReady = false;
  private closing = false;
  private readonly listeners = new Set<(state: Readonly<RedisConnectionState>) => void>();

  constructor(
    private readonly client: RedisClient,
    private readonly name: string,
    private readonly target: string,
  ) {
    this.logger = new RedkitLogger(`Redis:${name}`);
    client.on('ready', this.onReady);
    client.on('error', this.onError);
    client.on('node error', this.onError);
    client.on('close', this.onClose);
    client.on('end', this.onEnd);
  }

  get state(): Readonly<RedisConnectionState> {
    return this.current;
  }

  /** Our own shutdown is about to close the connection: its close is not an outage. */
  markClosing(): void {
    this.closing = true;
  }

  /** Calls `listener` on every change of status (ready, down, closed). */
  onChange(listener: (state: Readonly<RedisConnectionState>) => void): void {
    this.listeners.add(listener);
  }

  private set(state: RedisConnectionState): void {
    const changed = state.status !== this.current.status;
    this.current = state;
    if (changed) for (const listener of this.listeners) listener(state);
  }

  detach(): void {
    this.listeners.clear();
    this.client.off('ready', this.onReady);
    this.client.off('error', this.onError);
    this.client.off('node error', this.onError);
    this.client.off('close', this.onClose);
    this.client.off('end', this.onEnd);
  }

  private readonly onReady = (): void => {
    const { downSince } = this.current;
    if (downSince !== undefined) {
      const seconds = ((Date.now() - downSince) / 1000).toFixed(1);
      this.logger.log(`connection "${this.name}" to ${this.target} is ready again after ${seconds} s down`);
    } else if (!this.everReady) {
      this.logger.log(`connection "${this.name}" to ${this.target} is ready`);
    }
    this.everReady = true;
    this.set({ status: 'ready' });
    this.errorsSinceReport = 0;
  };

  private readonly onError = (error: unknown): void => {
    this.markDown(describeConnectionFailure(error).reason);
  };

  /** A ready connection that closes is down even if ioredis reports no error (a clean FIN). */
  private readonly onClose = (): void => {
    if (this.current.status === 'ready') this.markDown('connection closed by the server or the network');
  };

  private markDown(reason: string): void {
    if (this.closing) return;
    const now = Date.now();
    if (this.current.status !== 'down') {
      this.set({ status: 'down', downSince: now, lastError: reason });
      this.lastReportAt = now;
      this.errorsSinceReport = 0;
      this.logger.warn(`connection "${this.name}" to ${this.target} is down: ${reason}`);
      return;
    }
    this.current = { ...this.current, lastError: reason };
    this.errorsSinceReport += 1;
    if (now - this.lastReportAt >= REPEAT_REPORT_MS) {
      const seconds = Math.round((now - (this.current.downSince ?? now)) / 1000);
      this.logger.warn(
        `connection "${this.name}" still down after ${seconds} s (${this.errorsSinceReport} more errors): ${reason}`,
      );
      this.lastReportAt = now;
      this.errorsSinceReport = 0;
    }
  }

  private readonly onEnd = (): void => {
    this.set({ status: 'closed' });
  };
}
