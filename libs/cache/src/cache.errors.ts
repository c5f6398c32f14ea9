/** Base class of every error libs/cache throws. */
export class CacheError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option given to `CacheModule` is invalid; the message names it. Thrown at startup. */
export class CacheOptionsError extends CacheError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`CacheModule option "${option}" ${reason}`);
  }
}

/** The loader failed (or timed out) and no stale value was there to serve instead. */
export class CacheLoaderError extends CacheError {
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`cache loader for "${key}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** The loader ran past its hard timeout. */
export class CacheLoaderTimeoutError extends CacheError {
  constructor(
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(`cache loader for "${key}" did not finish within loaderHardTimeoutMs (${timeoutMs} ms)`);
  }
}

/** A value is larger than `maxValueBytes` once serialized. */
export class CacheValueTooLargeError extends CacheError {
  constructor(
    readonly key: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`cache value for "${key}" is ${bytes} bytes serialized, more than maxValueBytes (${maxBytes})`);
  }
}

/** A cache decorator's options are invalid; thrown at startup, naming the method and the option. */
export class CacheDecoratorError extends CacheError {
  constructor(
    /** `@Cacheable on BooksService.find` */
    readonly decorator: string,
    readonly option: string,
    reason: string,
  ) {
    super(`${decorator}: option "${option}" ${reason}`);
  }
}
