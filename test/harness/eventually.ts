import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `fn` until it stops throwing (or rejecting) and resolves with its result; once `timeoutMs` has
 * passed, rethrows its last error. For outcomes that settle asynchronously (a reconnect, a health
 * check after a restart), where a fixed sleep would be either flaky or slow.
 *
 * @example
 * await server.restart();
 * await eventually(async () => expect(await client.ping()).toBe('PONG'));
 */
export async function eventually<T>(
  fn: () => T | PromiseLike<T>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(everyMs);
    }
  }
}
