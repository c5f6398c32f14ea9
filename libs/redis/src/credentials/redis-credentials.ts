/**
 * What a credentials provider resolves to: the password (or token) to AUTH with, the ACL user, and,
 * for short-lived tokens (cloud IAM), when the server stops accepting it.
 */
export interface RedisCredentials {
  /** ACL user; omitted means the `default` user. */
  username?: string;
  /** The password or token. */
  password: string;
  /** When the password stops working (a Date or epoch milliseconds); live connections re-AUTH before. */
  expiresAt?: Date | number;
}

/**
 * Called for every connection and every reconnect of every node; may fetch from a secrets manager
 * or mint a token. Bounded by `connectTimeoutMs`.
 */
export type RedisCredentialsProvider = () => Promise<RedisCredentials>;
