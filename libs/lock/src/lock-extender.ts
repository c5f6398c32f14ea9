import { LockLostError } from './lock.errors.js';

/** How soon a failed extension (Redis unreachable) is tried again, at most. */
const EXTEND_RETRY_MS = 100;

/** @internal What the extender keeps alive: a held lock, or a semaphore's permit. */
export interface Lease {
  readonly resource: string;
  readonly fencingToken: number;
  readonly expiresAt: number;
  readonly remainingMs: number;
  extend(): Promise<boolean>;
}

/**
 * @internal Keeps one lock extended while `using` runs its callback, and aborts the callback's
 * signal the moment the lock is lost: an extension finds another holder (or none), or the local
 * validity estimate runs out before an extension got through (Redis paused, partitioned).
 * Every extension error is caught here; none becomes an unhandled rejection.
 */
export class LockExtender {
  readonly controller = new AbortController();
  lostError?: LockLostError;
  private timer?: NodeJS.Timeout;
  private extending = false;
  private stopped = false;
  private attempts = 0;
  private lastError: unknown;

  constructor(
    private readonly lock: Lease,
    private readonly extendAtFraction: number,
    private readonly onLost: () => void,
  ) {
    this.schedule(this.lock.remainingMs * extendAtFraction);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.floor(delayMs)));
  }

  private tick(): void {
    if (this.stopped) return;
    const remaining = this.lock.expiresAt - Date.now();
    if (remaining <= 0) {
      const why =
        this.lastError === undefined
          ? 'it expired before an extension got through'
          : `it expired while extensions failed (${this.lastError instanceof Error ? this.lastError.message : String(this.lastError)})`;
      this.lose(why);
      return;
    }
    // Whatever happens to the extension in flight, look again when the validity runs out.
    this.schedule(remaining);
    if (this.extending) return;
    this.extending = true;
    this.attempts += 1;
    this.lock.extend().then(
      (extended) => {
        this.extending = false;
        if (this.stopped) return;
        if (!extended) return this.lose('another holder has it, or it had expired, when extending');
        this.lastError = undefined;
        this.schedule(this.lock.remainingMs * this.extendAtFraction);
      },
      (error: unknown) => {
        this.extending = false;
        this.lastError = error;
        if (this.stopped) return;
        this.schedule(Math.min(EXTEND_RETRY_MS, Math.max(1, this.lock.remainingMs / 4)));
      },
    );
  }

  private lose(reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.lostError = new LockLostError(
      this.lock.resource,
      this.lock.fencingToken,
      this.attempts,
      reason,
      this.lastError === undefined ? undefined : { cause: this.lastError },
    );
    this.onLost();
    this.controller.abort(this.lostError);
  }
}

/**
 * @internal The body of every `using`: runs `fn` with a signal that aborts when `lease` is lost,
 * extending the lease meanwhile, and always releases it afterwards. A loss is reported as the
 * `LockLostError` (also when `fn` failed because its signal aborted); release errors are swallowed
 * (the lease then simply runs out).
 */
export async function runHolding<T, L extends Lease & { release(): Promise<boolean> }>(
  lease: L,
  extendAtFraction: number,
  onLost: () => void,
  fn: (signal: AbortSignal, lease: L) => Promise<T> | T,
): Promise<T> {
  const extender = new LockExtender(lease, extendAtFraction, onLost);
  try {
    const result = await fn(extender.controller.signal, lease);
    if (extender.lostError !== undefined) throw extender.lostError;
    return result;
  } catch (error) {
    // fn failing because its signal aborted is the loss, reported as such.
    throw extender.lostError ?? error;
  } finally {
    extender.stop();
    await lease.release().catch(() => false);
  }
}
