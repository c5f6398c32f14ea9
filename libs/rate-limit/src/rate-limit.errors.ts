/** Base class of every error libs/rate-limit throws. */
export class RateLimitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option of `RateLimitModule` or of a limit is invalid; the message names it. */
export class RateLimitOptionsError extends RateLimitError {
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`RateLimit option "${option}" ${reason}`);
  }
}

/**
 * Durable mode: Redis admitted a request, but fewer than `durability.replicas` replicas acknowledged
 * the admission within `durability.timeoutMs`. The limiter decides such a request as when Redis
 * cannot answer (insurance, else the limit's `onRedisError`); this error is what it logs.
 */
export class RateLimitUnreplicatedError extends RateLimitError {
  constructor(
    /** Replicas that acknowledged the admission (0 when the WAIT itself failed). */
    readonly acknowledged: number,
    /** Replicas `durability` asked for. */
    readonly replicas: number,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `admission acknowledged by ${acknowledged} of ${replicas} replica(s) within ${timeoutMs} ms` +
        (options?.cause instanceof Error ? ` (WAIT failed: ${options.cause.message})` : ''),
      options,
    );
  }
}
