import { RedkitTracer, SPAN_ATTRIBUTES, redisSpanAttributes, type RedisConnection } from '@redkit/redis';
import type { RedkitSpan, SpanAttributes } from '@redkit/redis';

/** The limiter's spans (recorded only while an OpenTelemetry tracer provider is registered). */
export const rateLimitTracer = new RedkitTracer('@redkit/rate-limit');

/** `redkit.ratelimit.decision`: `allowed` or `limited` (for a peek: what a consume would have got). */
export const RATELIMIT_DECISION = 'redkit.ratelimit.decision';
/** `redkit.ratelimit.source`: who decided (`redis`, `refused-locally`, `fail-open`, ...). */
export const RATELIMIT_SOURCE = 'redkit.ratelimit.source';
/** `redkit.ratelimit.limits`: the names of the limits checked (never the client identity). */
export const RATELIMIT_LIMITS = 'redkit.ratelimit.limits';
export const RATELIMIT_RETRY_AFTER_MS = 'redkit.ratelimit.retry_after_ms';

/** Each operation's span attributes, per connection, made on its first traced check. */
const attributesByConnection = new WeakMap<RedisConnection, Record<string, SpanAttributes>>();

function spanAttributesOf(connection: RedisConnection): Record<string, SpanAttributes> {
  let attributes = attributesByConnection.get(connection);
  if (attributes === undefined) {
    const server = redisSpanAttributes(connection);
    const of = (operation: string) =>
      Object.freeze({ ...server, [SPAN_ATTRIBUTES.DB_OPERATION_NAME]: operation });
    attributes = { consume: of('consume'), peek: of('peek'), check: of('check') };
    attributesByConnection.set(connection, attributes);
  }
  return attributes;
}

/** What every check outcome says, for the span. */
interface CheckOutcome {
  allowed: boolean;
  retryAfterMs: number;
  source: string;
}

/**
 * Runs one limiter operation (`consume`, `peek`, `check`) in a `ratelimit <operation>` span and
 * records its decision. `limitsOf` names the limits from the outcome.
 */
export function traceCheck<R extends CheckOutcome>(
  connection: RedisConnection,
  operation: 'consume' | 'peek' | 'check',
  run: () => Promise<R>,
  limitsOf: (outcome: R) => string[],
): Promise<R> {
  const attributes = spanAttributesOf(connection)[operation];
  return rateLimitTracer.trace(
    `ratelimit ${operation}`,
    { kind: 'client', attributes },
    async (span: RedkitSpan) => {
      const outcome = await run();
      span.setAttributes({
        [RATELIMIT_DECISION]: outcome.allowed ? 'allowed' : 'limited',
        [RATELIMIT_SOURCE]: outcome.source,
        [RATELIMIT_RETRY_AFTER_MS]: outcome.retryAfterMs,
        [RATELIMIT_LIMITS]: limitsOf(outcome),
      });
      return outcome;
    },
  );
}
