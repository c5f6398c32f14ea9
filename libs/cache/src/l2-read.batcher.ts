import type { RedisClient } from '@redkit/redis';

/** One caller waiting for its key's text. */
interface PendingRead {
  resolve(text: string | null): void;
  reject(error: unknown): void;
}

/** Keys per MGET at most; more in one turn go out as several MGETs. */
const MAX_BATCH = 256;

/**
 * Coalesces the L2 reads of one event-loop turn into one MGET. Each ioredis command costs the client
 * more CPU than Redis spends answering a GET (a Command, a promise, its own reply frame), so with
 * many L1 misses in flight one MGET of N keys answers them for roughly half the client time of N
 * GETs, even with auto-pipelining. A lone read in its turn is still a plain GET.
 *
 * Reads are flushed on `process.nextTick`, before ioredis sends its auto-pipeline (on
 * `setImmediate`), so coalescing adds no wait of its own. Reads of one batch share the batch's fate: if the MGET fails
 * or times out (the connection's command timeout), every caller of that batch gets that error.
 *
 * On a Cluster, keys of one MGET must share a slot and cache keys do not, so every read is a GET
 * there (ioredis still pipelines them per node).
 */
export class L2ReadBatcher {
  private keys: string[] = [];
  private waiting: PendingRead[] = [];
  private scheduled = false;
  private readonly coalesce: boolean;

  constructor(private readonly client: RedisClient) {
    this.coalesce = !client.isCluster;
  }

  /** The text stored under `key`, or null; rejects like the GET it replaces. */
  read(key: string): Promise<string | null> {
    if (!this.coalesce) return this.client.get(key);
    return new Promise((resolve, reject) => {
      this.keys.push(key);
      this.waiting.push({ resolve, reject });
      if (this.keys.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(this.flushScheduled);
      }
    });
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    const { keys, waiting } = this;
    if (keys.length === 0) return;
    this.keys = [];
    this.waiting = [];
    if (keys.length === 1) {
      const only = waiting[0] as PendingRead;
      this.client.get(keys[0] as string).then(only.resolve, only.reject);
      return;
    }
    this.client.mget(keys).then(
      (texts) => {
        for (let index = 0; index < waiting.length; index += 1) {
          (waiting[index] as PendingRead).resolve(texts[index] ?? null);
        }
      },
      (error: unknown) => {
        for (const read of waiting) read.reject(error);
      },
    );
  }
}
