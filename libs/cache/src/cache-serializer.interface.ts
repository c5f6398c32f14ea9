/** Turns cached values into strings for Redis and back. */
export interface CacheSerializer {
  serialize(value: unknown): string;
  deserialize(text: string): unknown;
}
