/** What an invalidation transport may do to this instance's L1. */
export interface L1InvalidationTarget {
  /** Drop these Redis keys from L1. */
  dropKeys(keys: readonly string[]): void;
  /** Drop every L1 entry whose key starts with `prefix`. */
  dropPrefix(prefix: string): void;
  /**
   * Drop all of L1: used when messages may have been missed (subscriber was disconnected). Also ends
   * a {@link suspend}.
   */
  dropAll(): void;
  /**
   * Messages may be missed from now on (the subscriber lost its connection, or never listened): keep
   * L1's entries as a fallback for when Redis fails, but answer no read from L1 alone until the next
   * {@link dropAll}. Optional for targets of your own.
   */
  suspend?(): void;
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
