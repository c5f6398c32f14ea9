import type { Redis } from 'ioredis';

/**
 * Connects a standalone or Sentinel client again when ioredis gave it up ('end') though nobody closed
 * it, after `delay(attempt)`; returns the detacher.
 *
 * Why: when a Sentinel `+switch-master` notice arrives while the client is still asking the Sentinels
 * for the new primary after a lost connection, ioredis's failover detector disconnects the connector
 * mid-connect, `SentinelConnector.connect` rejects with "Connection is closed." and `Redis.connect`
 * ends the client for good: every later command fails with that message (seen under load, one
 * failover in a few dozen). ioredis itself only ends a client it was asked to close, or whose
 * retryStrategy gave up, which redkit's never does.
 */
export function reviveOnEnd(
  client: Redis,
  closed: () => boolean,
  delay: (attempt: number) => number,
): () => void {
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  const onReady = (): void => {
    attempt = 0;
  };
  const onEnd = (): void => {
    if (closed() || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (closed() || client.status !== 'end') return;
      // A failure ends it again, and this runs once more with a longer delay.
      client.connect().catch(() => undefined);
    }, delay(++attempt));
    timer.unref();
  };
  client.on('end', onEnd);
  client.on('ready', onReady);
  return () => {
    clearTimeout(timer);
    timer = undefined;
    client.off('end', onEnd);
    client.off('ready', onReady);
  };
}
