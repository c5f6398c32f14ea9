import { HttpException, HttpStatus } from '@nestjs/common';

/** The JSON body of a 429 answer. */
export interface RateLimitExceededBody {
  statusCode: 429;
  error: 'Too Many Requests';
  message: string;
  /** The name of the limit that refused (the one asking for the longest wait). */
  limit: string;
  /** Seconds until a retry can pass, as in `Retry-After`. */
  retryAfterSeconds: number;
}

/** Thrown by `RateLimitGuard` when a limit refuses the request: 429 with a {@link RateLimitExceededBody}. */
export class RateLimitExceededException extends HttpException {
  constructor(
    readonly limit: string,
    readonly retryAfterMs: number,
    message = 'Too Many Requests',
  ) {
    const body: RateLimitExceededBody = {
      statusCode: HttpStatus.TOO_MANY_REQUESTS,
      error: 'Too Many Requests',
      message,
      limit,
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1_000)),
    };
    super(body, HttpStatus.TOO_MANY_REQUESTS);
  }
}
