import { Logger } from '@nestjs/common';

import { currentCorrelationId } from './correlation.js';

/** `message`, with ` correlationId=<id>` appended when a correlation id is set and it is text. */
export function withCorrelationId(message: unknown): unknown {
  const id = currentCorrelationId();
  return id === undefined || typeof message !== 'string' ? message : `${message} correlationId=${id}`;
}

/**
 * Nest's `Logger`, appending ` correlationId=<id>` to every text message written while a
 * correlation id is set (an HTTP request under `CorrelationModule`, a message handler, a
 * `runWithCorrelation` call), so the lines of one request can be found together. Everything else
 * is Nest's: the logger the app installed, its levels, its format, its buffering. Objects are
 * passed on unchanged (a JSON logger sees them as given).
 *
 * @example
 * private readonly logger = new RedkitLogger('Orders');
 * this.logger.warn('matching took 2 s'); // [Nest] 4242 - ... WARN [Orders] matching took 2 s correlationId=4bf92f...
 */
export class RedkitLogger extends Logger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    super.log(withCorrelationId(message), ...optionalParams);
  }

  override error(message: unknown, ...optionalParams: unknown[]): void {
    super.error(withCorrelationId(message), ...optionalParams);
  }

  override warn(message: unknown, ...optionalParams: unknown[]): void {
    super.warn(withCorrelationId(message), ...optionalParams);
  }

  override debug(message: unknown, ...optionalParams: unknown[]): void {
    super.debug(withCorrelationId(message), ...optionalParams);
  }

  override verbose(message: unknown, ...optionalParams: unknown[]): void {
    super.verbose(withCorrelationId(message), ...optionalParams);
  }

  override fatal(message: unknown, ...optionalParams: unknown[]): void {
    super.fatal(withCorrelationId(message), ...optionalParams);
  }
}
