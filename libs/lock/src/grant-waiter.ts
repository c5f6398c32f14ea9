import type { GrantListener } from './lock-grant.notifier.js';

/** One waiter: woken by a grant notice or its timer, whichever comes first. */
export class GrantWaiter implements GrantListener {
  fence = 0;
  grantedAt = 0;
  /** A lease handed over in-process (a semaphore's permit), set with its token before the wake. */
  handed?: unknown;
  private wake?: () => void;
  private timer?: NodeJS.Timeout;

  granted(fence: number, receivedAt: number): void {
    if (this.fence > 0) return;
    this.fence = fence;
    this.grantedAt = receivedAt;
    this.wake?.();
  }

  /** Ends a {@link sleep} early without a grant: the waiter looks again at once. */
  nudge(): void {
    this.wake?.();
  }

  /** True while in {@link sleep}: between attempts, so a hand-over cannot cross an attempt in flight. */
  get sleeping(): boolean {
    return this.wake !== undefined;
  }

  /** Resolves after `delayMs`, on a grant, or when `signal` aborts. */
  sleep(delayMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.fence > 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(this.timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      this.timer = setTimeout(done, delayMs);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
