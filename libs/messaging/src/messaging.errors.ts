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
