import { TurnQueue, type RedisClient } from '@redkit/redis';

/** One caller waiting for its key's text. */
interface PendingRead {
  key: string;
  resolve(text: string | null): void;
  reject(error: unknown): void;
}

/**
 * Coalesces the L2 reads of one event-loop turn into one MGET. Each ioredis command costs the client
 * more CPU than Redis spends answering a GET (a Command, a promise, its own reply frame), so with
 * many L1 misses in flight one MGET of N keys answers them for roughly half the client time of N
 * GETs, even with auto-pipelining. A lone read in its turn is still a plain GET.
 *
 * Reads are collected by a {@link TurnQueue}, flushed before ioredis sends its auto-pipeline, so
 * coalescing adds no wait of its own. Reads of one batch share the batch's fate: if the MGET fails
 * or times out (the connection's command timeout), every caller of that batch gets that error.
 *
 * On a Cluster, keys of one MGET must share a slot and cache keys do not, so every read is a GET
 * there (ioredis still pipelines them per node).
 */
export class L2ReadBatcher {
  private readonly reads: TurnQueue<PendingRead>;
  private readonly coalesce: boolean;

  constructor(private readonly client: RedisClient) {
    this.coalesce = !client.isCluster;
    // At most TURN_BATCH_WEIGHT keys per MGET; more in one turn go out as several, overlapping.
    this.reads = new TurnQueue((batch) => this.send(batch));
  }

  /** The text stored under `key`, or null; rejects like the GET it replaces. */
  read(key: string): Promise<string | null> {
    if (!this.coalesce) return this.client.get(key);
    return new Promise((resolve, reject) => this.reads.push({ key, resolve, reject }));
  }

  private send(batch: PendingRead[]): void {
    if (batch.length === 1) {
      const only = batch[0] as PendingRead;
      this.client.get(only.key).then(only.resolve, only.reject);
      return;
    }
    this.client.mget(batch.map((read) => read.key)).then(
      (texts) => {
        for (let index = 0; index < batch.length; index += 1) {
          (batch[index] as PendingRead).resolve(texts[index] ?? null);
        }
      },
      (error: unknown) => {
        for (const read of batch) read.reject(error);
      },
    );
  }
}
