import { Inject, Injectable } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import type { PendingEntry, PendingPage } from './console-api.types.js';
import { CONSOLE_CONNECTION } from './console.constants.js';
import { compareStreamIds } from './console-input.js';
import { PayloadRedactor } from './payload-redactor.js';
import { asHttpError } from './redis-unavailable.js';
import { StreamDirectory } from './stream-directory.js';

/** What `GET .../pending` was asked. */
export interface PendingQuery {
  after?: string;
  limit: number;
  consumer?: string;
}

type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];

/**
 * The pending entries of a group, paged by id range (XPENDING with an exclusive start and a COUNT,
 * never the whole list), and the actions on them: ack, claim, an XAUTOCLAIM sweep with a bound, and
 * delete (XACK then XDEL).
 */
@Injectable()
export class PendingEntriesService {
  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(StreamDirectory) private readonly directory: StreamDirectory,
    @Inject(PayloadRedactor) private readonly redactor: PayloadRedactor,
  ) {}

  async page(stream: string, group: string, query: PendingQuery): Promise<PendingPage> {
    const key = this.directory.keysOf(stream).stream;
    const { client } = this.connection;
    try {
      const start = query.after === undefined ? '-' : `(${query.after}`;
      const rows = (
        query.consumer === undefined
          ? await client.xpending(key, group, start, '+', query.limit)
          : await client.xpending(key, group, start, '+', query.limit, query.consumer)
      ) as PendingRow[];
      // One XRANGE of a single id per row (pipelined): pending ids may lie far apart in the stream.
      const bodies = await Promise.all(rows.map(([id]) => client.xrange(key, id, id, 'COUNT', 1)));
      const entries = rows.map(([id, consumer, idleMs, deliveries], index): PendingEntry => {
        const found = bodies[index]?.[0];
        const { fields, truncated } = this.redactor.entryFields(found === undefined ? null : found[1]);
        return { id, consumer, idleMs: Number(idleMs), deliveries: Number(deliveries), fields, truncated };
      });
      const last = rows.at(-1);
      return { entries, next: rows.length === query.limit && last !== undefined ? last[0] : null };
    } catch (error) {
      throw asHttpError(this.connection, error, `the pending entries of "${stream}"/"${group}"`);
    }
  }

  /** XACK: how many of `ids` were pending and are now acknowledged. */
  async ack(stream: string, group: string, ids: readonly string[]): Promise<{ acked: number }> {
    const key = this.directory.keysOf(stream).stream;
    try {
      return { acked: await this.connection.client.xack(key, group, ...ids) };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the ack');
    }
  }

  /**
   * XCLAIM ... JUSTID: gives `ids` to `consumer` (created if new) when idle at least `minIdleMs`;
   * the delivery count is left as it is. Returns the ids it now holds.
   */
  async claim(
    stream: string,
    group: string,
    ids: readonly string[],
    consumer: string,
    minIdleMs: number,
  ): Promise<{ claimed: string[] }> {
    const key = this.directory.keysOf(stream).stream;
    try {
      const claimed = (await this.connection.client.xclaim(
        key,
        group,
        consumer,
        minIdleMs,
        ...ids,
        'JUSTID',
      )) as string[];
      return { claimed: [...claimed].sort(compareStreamIds) };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the claim');
    }
  }

  /**
   * One XAUTOCLAIM sweep of at most `count` entries idle at least `minIdleMs`, from `start`: returns
   * how many moved to `consumer`, the cursor to go on from (`0-0` once the list was covered), and the
   * ids Redis dropped from the list because their entries no longer exist.
   */
  async autoclaim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
    start: string,
  ): Promise<{ claimed: number; next: string; deleted: string[] }> {
    const key = this.directory.keysOf(stream).stream;
    try {
      const [next, claimed, deleted] = (await this.connection.client.call(
        'XAUTOCLAIM',
        key,
        group,
        consumer,
        minIdleMs,
        start,
        'COUNT',
        count,
        'JUSTID',
      )) as [string, string[], string[] | undefined];
      return { claimed: claimed.length, next, deleted: deleted ?? [] };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the autoclaim sweep');
    }
  }

  /** XACK then XDEL: the entries leave the group's pending list and the stream. */
  async delete(stream: string, group: string, ids: readonly string[]): Promise<{ deleted: number }> {
    const key = this.directory.keysOf(stream).stream;
    const { client } = this.connection;
    try {
      await client.xack(key, group, ...ids);
      return { deleted: await client.xdel(key, ...ids) };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the delete');
    }
  }
}
