import { RedisCredentialsError } from '../redis.errors.js';
import type { RedisCredentialsProvider } from './redis-credentials.js';

/** Credentials as checked and timed by {@link CredentialsSource}; `expiresAt` in epoch ms. */
export interface FetchedCredentials {
  username?: string;
  password: string;
  fetchedAt: number;
  expiresAt?: number;
}

/**
 * One connection's `credentials` option: calls the provider with a deadline, checks what it
 * resolves to, and tells listeners (the renewer) when fetched credentials expire.
 */
export class CredentialsSource {
  private readonly listeners = new Set<(credentials: FetchedCredentials) => void>();

  constructor(
    private readonly provider: RedisCredentialsProvider,
    private readonly timeoutMs: number,
  ) {}

  onFetched(listener: (credentials: FetchedCredentials) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async fetch(): Promise<FetchedCredentials> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisCredentialsError(`credentials() did not resolve within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    let resolved: unknown;
    try {
      resolved = await Promise.race([Promise.resolve().then(() => this.provider()), deadline]);
    } catch (error) {
      if (error instanceof RedisCredentialsError) throw error;
      // The provider's own message: a secrets manager's errors name the secret, not its value.
      const reason = error instanceof Error ? error.message : String(error);
      throw new RedisCredentialsError(`credentials() failed: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    const credentials = checked(resolved);
    for (const listener of this.listeners) listener(credentials);
    return credentials;
  }
}

function checked(value: unknown): FetchedCredentials {
  const shape = 'must resolve to { password: string, username?: string, expiresAt?: Date | number }';
  if (typeof value !== 'object' || value === null) throw new RedisCredentialsError(`credentials() ${shape}`);
  const { username, password, expiresAt } = value as Record<string, unknown>;
  if (typeof password !== 'string' || password.length === 0)
    throw new RedisCredentialsError(`credentials() ${shape}; password is missing or empty`);
  if (username !== undefined && (typeof username !== 'string' || username.length === 0))
    throw new RedisCredentialsError(`credentials() ${shape}; username is not a non-empty string`);
  let expires: number | undefined;
  if (expiresAt instanceof Date) expires = expiresAt.getTime();
  else if (typeof expiresAt === 'number') expires = expiresAt;
  else if (expiresAt !== undefined)
    throw new RedisCredentialsError(`credentials() ${shape}; expiresAt is neither a Date nor a number`);
  if (expires !== undefined && !Number.isFinite(expires))
    throw new RedisCredentialsError(`credentials() ${shape}; expiresAt is not a valid time`);
  return { username, password, expiresAt: expires, fetchedAt: Date.now() };
}
