import { RedisKitError } from '../redis.errors.js';

/** A correlation id given to `runWithCorrelation` is not one `isValidCorrelationId` accepts. */
export class InvalidCorrelationIdError extends RedisKitError {
  constructor(value: unknown) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
    super(`correlation id must be 1-128 characters of A-Z a-z 0-9 - _ . : / + = @, got ${shown}`);
  }
}

/** An option given to `CorrelationModule.forRoot` is invalid; the message names the option. */
export class CorrelationOptionsError extends RedisKitError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`CorrelationModule option "${option}" ${reason}`);
  }
}
