/** Base class of every error libs/messaging throws. */
export class MessagingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option given to `MessagingModule`, a consumer or a decorator is invalid; the message names it. */
export class MessagingOptionsError extends MessagingError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`messaging option "${option}" ${reason}`);
  }
}

/** An event type or subscription pattern that cannot name a channel (empty, too long, bad characters). */
export class InvalidEventTypeError extends MessagingError {}

/**
 * `durability` is on and fewer replicas than asked acknowledged a stream publish within `timeoutMs`
 * (WAIT answered fewer, or failed: then `cause` says why). The entry was added on the primary and may
 * still stand there (consumers may even get it), or be lost by a failover: treat the publish as
 * unknown, like a timeout. Publishing it again is safe with idempotent handlers (`IdempotencyStore`),
 * since delivery is at-least-once anyway. 503: the service cannot promise the entry now.
 */
export class MessagingDurabilityError extends MessagingError {
  /** Stable machine-readable code, for API responses and alerts. */
  readonly code = 'MESSAGING_UNREPLICATED';
  /** The status an HTTP API should answer with. */
  readonly httpStatus = 503;

  constructor(
    /** The stream published to (the partition's stream, for a partitioned one). */
    readonly stream: string,
    /** Replicas that acknowledged the entry. */
    readonly acknowledged: number,
    /** Replicas `durability` asked for. */
    readonly replicas: number,
    timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `publish to stream ${JSON.stringify(stream)} not replicated: ${acknowledged} of ${replicas} replica${replicas === 1 ? '' : 's'} acknowledged within ${timeoutMs} ms; the entry may still stand on the primary: treat it as unknown`,
      options,
    );
  }
}
