/** What an invalidation transport may do to this instance's L1. */
export interface L1InvalidationTarget {
  /** Drop these Redis keys from L1. */
  dropKeys(keys: readonly string[]): void;
  /** Drop every L1 entry whose key starts with `prefix`. */
  dropPrefix(prefix: string): void;
  /** Drop all of L1: used when messages may have been missed (subscriber was disconnected). */
  dropAll(): void;
}

/** A transport of invalidations between instances. */
export interface L1InvalidationTransport {
  /** Subscribes; resolves once listening (bounded by the connection's timeouts; never hangs). */
  start(): Promise<void>;
  /** Tells the other instances to drop keys / a prefix. Never throws: failures are counted/logged and resolved. */
  publishKeys(keys: readonly string[]): Promise<void>;
  publishPrefix(prefix: string): Promise<void>;
  /** Unsubscribes and closes its own connection(s). */
  stop(): Promise<void>;
}
