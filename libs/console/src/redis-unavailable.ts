import { HttpException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

/** Redis's word for a missing stream or group. */
function missing(message: string): boolean {
  return message.startsWith('NOGROUP') || message.includes('no such key');
}

/**
 * What the console answers when Redis does not: an HttpException as it is; a missing stream or
 * group as 404; a refusal for the ACL user as 503 naming the rule to grant (and recorded on the
 * connection, for /health); anything else (a timeout past the connection's bounded command
 * timeout, a closed connection) as 503 saying Redis did not answer. Never a 500 with a stack.
 */
export function asHttpError(
  connection: RedisConnection,
  error: unknown,
  what = 'the console',
): HttpException {
  if (error instanceof HttpException) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (missing(message))
    return new NotFoundException(message.startsWith('NOGROUP') ? 'no such consumer group' : 'no such stream');
  const refused = connection.notePermission('console', error);
  if (refused !== undefined)
    return new ServiceUnavailableException(`Redis refused ${what}: ${refused.message}`);
  return new ServiceUnavailableException(`Redis did not answer ${what}: ${message}`);
}
