import { TurnQueue, type RedisClient } from '@redkit/redis';

import { readOrLeaseManyScript } from './cache-scripts.js';

/** One caller waiting for its key's text. */
interface PendingRead {
  key: string;
  resolve(text: string | null): void;
  reject(error: unknown): void;
}

/** One distributed single-flight read: the key's text, or null once this call took the lease. */
interface PendingLeaseRead extends PendingRead {
  leaseMs: number;
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
  private readonly leaseReads: TurnQueue<PendingLeaseRead>;
  private readonly coalesce: boolean;

  /** `leaseMark`: what a lease this instance takes writes into the key (`~<token>`). */
  constructor(
    private readonly client: RedisClient,
    private readonly leaseMark = '',
  ) {
    this.coalesce = !client.isCluster;
    // At most TURN_BATCH_WEIGHT keys per MGET; more in one turn go out as several, overlapping.
    this.reads = new TurnQueue((batch) => this.send(batch));
    this.leaseReads = new TurnQueue((batch) => this.sendLeaseReads(batch));
  }

  /** The text stored under `key`, or null; rejects like the GET it replaces. */
  read(key: string): Promise<string | null> {
    if (!this.coalesce) return this.client.get(key);
    return new Promise((resolve, reject) => this.reads.push({ key, resolve, reject }));
  }

  /**
   * `SET key <leaseMark> PX leaseMs NX GET`: the text stored under `key`, or null when the key was
   * empty and this call took its lease. The reads of one turn go out as one script (standalone),
   * as the plain reads go out as one MGET.
   */
  readOrLease(key: string, leaseMs: number): Promise<string | null> {
    if (!this.coalesce) return this.client.set(key, this.leaseMark, 'PX', leaseMs, 'NX', 'GET');
    return new Promise((resolve, reject) => this.leaseReads.push({ key, leaseMs, resolve, reject }));
  }

  private sendLeaseReads(batch: PendingLeaseRead[]): void {
    if (batch.length === 1) {
      const only = batch[0] as PendingLeaseRead;
      this.client
        .set(only.key, this.leaseMark, 'PX', only.leaseMs, 'NX', 'GET')
        .then(only.resolve, only.reject);
      return;
    }
    readOrLeaseManyScript
      .run(
        this.client,
        batch.map((read) => read.key),
        [this.leaseMark, ...batch.map((read) => String(read.leaseMs))],
      )
      .then(
        (texts) => {
          for (let index = 0; index < batch.length; index += 1) {
            (batch[index] as PendingLeaseRead).resolve(texts[index] ?? null);
          }
        },
        (error: unknown) => {
          for (const read of batch) read.reject(error);
        },
      );
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
