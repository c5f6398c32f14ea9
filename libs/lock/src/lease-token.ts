import { randomBytes } from 'node:crypto';

/**
 * Lock tokens and semaphore permit ids: a random prefix per process (96 bits from the OS's CSPRNG) and a counter. What safety
 * needs of a token is that no two acquisitions ever share one, so that a stale holder's token never
 * matches the current holder's; the prefix makes processes' tokens distinct (a collision needs two
 * processes drawing the same 96 random bits), the counter makes one process's distinct. Tokens are
 * not secrets: anyone who can read the lock's key in Redis can delete it anyway.
 */
const TOKEN_PREFIX = randomBytes(12).toString('base64url') + '.';
let tokenCounter = 0;

export function newToken(): string {
  tokenCounter += 1;
  return TOKEN_PREFIX + tokenCounter.toString(36);
}
