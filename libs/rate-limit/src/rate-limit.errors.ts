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
