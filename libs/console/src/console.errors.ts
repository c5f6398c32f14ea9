/** Base class of every error libs/console throws. */
export class ConsoleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option given to `ConsoleModule` is invalid; the message names it. Thrown at startup. */
export class ConsoleOptionsError extends ConsoleError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`console option "${option}" ${reason}`);
  }
}
