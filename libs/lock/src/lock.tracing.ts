import {
  RedkitTracer,
  SPAN_ATTRIBUTES,
  recordSpanError,
  redisSpanAttributes,
  type RedisConnection,
  type RedkitSpan,
  type SpanAttributes,
} from '@redkit/redis';

import type { Lock } from './lock.js';

/** The lock's spans (recorded only while an OpenTelemetry tracer provider is registered). */
export const lockTracer = new RedkitTracer('@redkit/lock');

/** `redkit.lock.resource`: the resource name as given to `acquire` (the developer's, like a key). */
export const LOCK_RESOURCE = 'redkit.lock.resource';
/** `redkit.lock.wait_ms`: from the call to the grant (or the give-up). */
export const LOCK_WAIT_MS = 'redkit.lock.wait_ms';
export const LOCK_ACQUIRED = 'redkit.lock.acquired';
export const LOCK_FENCING_TOKEN = 'redkit.lock.fencing_token';
/** `redkit.lock.released`: false when the lease had run out or was taken over before the release. */
export const LOCK_RELEASED = 'redkit.lock.released';
/** `redkit.lock.lost`: `using` lost the lock while its callback ran. */
export const LOCK_LOST = 'redkit.lock.lost';

/**
 * The attributes of a lock span on these servers: the Redis server's for one server (or Cluster);
 * in Redlock mode none names one address, the mode and the number of servers say what it was.
 */
export function lockSpanAttributes(connections: readonly RedisConnection[]): SpanAttributes {
  const first = connections[0] as RedisConnection;
  if (connections.length === 1) return redisSpanAttributes(first);
  return Object.freeze({
    [SPAN_ATTRIBUTES.DB_SYSTEM_NAME]: 'redis',
    [SPAN_ATTRIBUTES.DB_SYSTEM]: 'redis',
    'redkit.lock.mode': 'redlock',
    'redkit.lock.servers': connections.length,
  });
}

/**
 * Runs an acquisition in a `lock <operation>` span (how long it waited, whether and with which
 * fencing token it got the lock) and, once granted, starts the lock's `lock hold` span, which
 * {@link endHold} ends at release. The hold span is a sibling of the acquisition's, in the caller's
 * trace.
 */
export function traceAcquire<L extends Lock | null>(
  serverAttributes: SpanAttributes,
  operation: 'acquire' | 'tryAcquire',
  resource: string,
  run: () => Promise<L>,
): Promise<L> {
  const startedAt = performance.now();
  const attributes = {
    ...serverAttributes,
    [SPAN_ATTRIBUTES.DB_OPERATION_NAME]: operation,
    [LOCK_RESOURCE]: resource,
  };
  const acquiring = lockTracer.trace(`lock ${operation}`, { kind: 'client', attributes }, async (span) => {
    try {
      const lock = await run();
      span.setAttribute(LOCK_ACQUIRED, lock !== null);
      if (lock !== null) span.setAttribute(LOCK_FENCING_TOKEN, lock.fencingToken);
      return lock;
    } finally {
      span.setAttribute(LOCK_WAIT_MS, Math.round((performance.now() - startedAt) * 1000) / 1000);
    }
  });
  // Started in the caller's context (this callback's), not under the acquisition's span.
  return acquiring.then((lock) => {
    if (lock !== null && lock.holdSpan === undefined) {
      lock.holdSpan = lockTracer.startSpan('lock hold', {
        attributes: {
          [LOCK_RESOURCE]: resource,
          [LOCK_FENCING_TOKEN]: lock.fencingToken,
          'redkit.lock.ttl_ms': lock.ttlMs,
        },
      });
    }
    return lock;
  });
}

/** Ends a lock's hold span when its release settles. */
export function endHold(span: RedkitSpan, released: Promise<boolean>): void {
  released.then(
    (held) => {
      span.setAttribute(LOCK_RELEASED, held);
      span.end();
    },
    (error: unknown) => {
      recordSpanError(span, error);
      span.end();
    },
  );
}
