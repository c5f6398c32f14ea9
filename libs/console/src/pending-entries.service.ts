import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import type { AutoclaimReport, LanePriority, PendingEntry, PendingPage } from './console-api.types.js';
import { CONSOLE_CONNECTION } from './console.constants.js';
import { compareStreamIds, type LaneCursor } from './console-input.js';
import { PayloadRedactor } from './payload-redactor.js';
import { asHttpError } from './redis-unavailable.js';
import { StreamDirectory } from './stream-directory.js';
import { NORMAL_LANE, STREAM_LANES } from './stream-layout.js';

/** What `GET .../pending` was asked. */
export interface PendingQuery {
  after?: LaneCursor;
  limit: number;
  consumer?: string;
  /** Only this lane's entries; every lane's when absent. */
  priority?: LanePriority;
}

type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];

/** True for Redis's answer about a group (or its stream key) that does not exist. */
function noGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

/** The lane index of `priority` (`normal` when absent). */
function laneOf(priority: LanePriority | undefined): number {
  return priority === undefined ? NORMAL_LANE : STREAM_LANES.indexOf(priority);
}

/** A cursor over the lanes: `<id>:<lane>`. */
function cursorOf(id: string, lane: number): string {
  return `${id}:${STREAM_LANES[lane] as LanePriority}`;
}

/**
 * The pending entries of a group over the stream's priority lanes, paged by id range (XPENDING of
 * each lane with an exclusive start and a COUNT, never the whole list, merged by id), and the
 * actions on them, each on the lane it names: ack, claim, an XAUTOCLAIM sweep with a bound (of
 * every lane, highest first, or of one), and delete (XACK then XDEL).
 */
@Injectable()
export class PendingEntriesService {
  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(StreamDirectory) private readonly directory: StreamDirectory,
    @Inject(PayloadRedactor) private readonly redactor: PayloadRedactor,
  ) {}

  /**
   * One page: the first `limit` entries after the cursor, by id, those of one id in lane order
   * (each lane's XPENDING reads at most `limit`, so a page costs at most four of them). A lane
   * without the group has nothing pending; 404 when no lane has it.
   */
  async page(stream: string, group: string, query: PendingQuery): Promise<PendingPage> {
    const { lanes: keys } = this.directory.keysOf(stream);
    const { client } = this.connection;
    const lanes = query.priority === undefined ? [...STREAM_LANES.keys()] : [laneOf(query.priority)];
    const { after } = query;
    // A bare id cursor is past that id in every lane: as if at its last lane.
    const afterLane = after?.priority === undefined ? STREAM_LANES.length - 1 : laneOf(after.priority);
    try {
      const reads = await Promise.all(
        lanes.map(async (lane) => {
          const key = keys[lane] as string;
          const start = after === undefined ? '-' : lane <= afterLane ? `(${after.id}` : after.id;
          try {
            const rows = (
              query.consumer === undefined
                ? await client.xpending(key, group, start, '+', query.limit)
                : await client.xpending(key, group, start, '+', query.limit, query.consumer)
            ) as PendingRow[];
            return rows.map((row) => ({ lane, row }));
          } catch (error) {
            if (noGroup(error)) return null;
            throw error;
          }
        }),
      );
      if (reads.every((read) => read === null)) throw new NotFoundException('no such consumer group');
      const merged = reads
        .flatMap((read) => read ?? [])
        .sort((left, right) => compareStreamIds(left.row[0], right.row[0]) || left.lane - right.lane);
      const rows = merged.slice(0, query.limit);
      // One XRANGE of a single id per row (pipelined): pending ids may lie far apart in the stream.
      const bodies = await Promise.all(
        rows.map(({ lane, row: [id] }) => client.xrange(keys[lane] as string, id, id, 'COUNT', 1)),
      );
      const entries = rows.map(({ lane, row: [id, consumer, idleMs, deliveries] }, index): PendingEntry => {
        const found = bodies[index]?.[0];
        const { fields, truncated } = this.redactor.entryFields(found === undefined ? null : found[1]);
        return {
          id,
          priority: STREAM_LANES[lane] as LanePriority,
          consumer,
          idleMs: Number(idleMs),
          deliveries: Number(deliveries),
          fields,
          truncated,
        };
      });
      const last = rows.at(-1);
      const more = merged.length > query.limit || reads.some((read) => read?.length === query.limit);
      return { entries, next: more && last !== undefined ? cursorOf(last.row[0], last.lane) : null };
    } catch (error) {
      throw asHttpError(this.connection, error, `the pending entries of "${stream}"/"${group}"`);
    }
  }

  /** XACK on the lane `priority` (`normal` when absent): how many of `ids` were pending there. */
  async ack(
    stream: string,
    group: string,
    ids: readonly string[],
    priority?: LanePriority,
  ): Promise<{ acked: number }> {
    const key = this.directory.keysOf(stream).lanes[laneOf(priority)] as string;
    try {
      return { acked: await this.connection.client.xack(key, group, ...ids) };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the ack');
    }
  }

  /**
   * XCLAIM ... JUSTID on the lane `priority` (`normal` when absent): gives `ids` to `consumer`
   * (created if new) when idle at least `minIdleMs`; the delivery count is left as it is. Returns
   * the ids it now holds.
   */
  async claim(
    stream: string,
    group: string,
    ids: readonly string[],
    consumer: string,
    minIdleMs: number,
    priority?: LanePriority,
  ): Promise<{ claimed: string[] }> {
    const key = this.directory.keysOf(stream).lanes[laneOf(priority)] as string;
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
   * An XAUTOCLAIM sweep moving at most `count` entries idle at least `minIdleMs` to `consumer`: of
   * the lane `priority`, or of every lane, highest first, when absent (a lane without the group is
   * skipped), from `start` (a bare id is in the first lane swept). Each lane's XAUTOCLAIM asks for
   * what is left of `count`. Returns how many moved, the cursor to go on from (`0-0` once every
   * lane swept was covered), and the ids Redis dropped because their entries no longer exist.
   */
  async autoclaim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
    start: LaneCursor | undefined,
    priority?: LanePriority,
  ): Promise<AutoclaimReport> {
    const keys = this.directory.keysOf(stream).lanes;
    const lanes = priority === undefined ? [...STREAM_LANES.keys()] : [laneOf(priority)];
    let from = 0;
    if (start?.priority !== undefined) {
      from = lanes.indexOf(laneOf(start.priority));
      if (from === -1) {
        throw new BadRequestException(`start: a cursor of lane ${start.priority}, not of lane ${priority}`);
      }
    }
    let cursor = start?.id ?? '0-0';
    const report: AutoclaimReport = { claimed: 0, next: '0-0', deleted: [] };
    let found = false;
    try {
      for (let at = from; at < lanes.length; at += 1) {
        const lane = lanes[at] as number;
        if (report.claimed >= count) return { ...report, next: cursorOf(cursor, lane) };
        let reply: [string, string[], string[] | undefined];
        try {
          reply = (await this.connection.client.call(
            'XAUTOCLAIM',
            keys[lane] as string,
            group,
            consumer,
            minIdleMs,
            cursor,
            'COUNT',
            count - report.claimed,
            'JUSTID',
          )) as [string, string[], string[] | undefined];
        } catch (error) {
          if (!noGroup(error) || priority !== undefined) throw error;
          cursor = '0-0';
          continue;
        }
        found = true;
        const [next, claimed, deleted] = reply;
        report.claimed += claimed.length;
        report.deleted.push(...(deleted ?? []));
        if (next !== '0-0') return { ...report, next: cursorOf(next, lane) };
        cursor = '0-0';
      }
      if (!found) throw new NotFoundException('no such consumer group');
      return report;
    } catch (error) {
      throw asHttpError(this.connection, error, 'the autoclaim sweep');
    }
  }

  /** XACK then XDEL on the lane `priority` (`normal` when absent): the entries leave the group's pending list and the stream. */
  async delete(
    stream: string,
    group: string,
    ids: readonly string[],
    priority?: LanePriority,
  ): Promise<{ deleted: number }> {
    const key = this.directory.keysOf(stream).lanes[laneOf(priority)] as string;
    const { client } = this.connection;
    try {
      await client.xack(key, group, ...ids);
      return { deleted: await client.xdel(key, ...ids) };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the delete');
    }
  }
}
