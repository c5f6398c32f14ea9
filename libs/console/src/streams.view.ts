import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { RedisClient, RedisConnection } from '@redkit/redis';

import { nodeForKey } from './cluster-slot.js';
import type {
  ConsumerSummary,
  GroupSummary,
  LaneSummary,
  PartitionedStreamSummary,
  StreamDetail,
  StreamPartitionRef,
  StreamsBody,
  StreamSummary,
} from './console-api.types.js';
import { CONSOLE_CONNECTION, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import { compareStreamIds, idMs } from './console-input.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { asHttpError } from './redis-unavailable.js';
import { SecondCache } from './second-cache.js';
import { StreamDirectory } from './stream-directory.js';
import { NORMAL_LANE, partitionOfName, STREAM_LANES } from './stream-layout.js';

/** Groups listed per stream at most (a stream rarely has more than a handful). */
const MAX_GROUPS = 100;
/** Consumers listed per group at most. */
const MAX_CONSUMERS = 200;

function pairs(flat: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(flat)) return map;
  for (let index = 0; index + 1 < flat.length; index += 2) map.set(String(flat[index]), flat[index + 1]);
  return map;
}

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

function entryId(entry: unknown): string | null {
  return Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : null;
}

/** One group on one lane. */
type LaneGroup = Omit<GroupSummary, 'lanes'>;

/** What one lane's key holds; a lane read is null when its key does not exist. */
interface LaneRead {
  length: number;
  firstId: string | null;
  lastId: string | null;
  entriesAdded: number | null;
  memoryBytes: number | null;
  groups: LaneGroup[];
}

/** Lanes in the order their groups are listed: `normal` (the stream's original key) first. */
const LISTING_ORDER = [NORMAL_LANE, ...[...STREAM_LANES.keys()].filter((lane) => lane !== NORMAL_LANE)];

/** The sum of the lanes' `value`s; null when any lane that exists has none. */
function sumOrNull(
  reads: readonly (LaneRead | null)[],
  value: (read: LaneRead) => number | null,
): number | null {
  let sum = 0;
  for (const read of reads) {
    if (read === null) continue;
    const part = value(read);
    if (part === null) return null;
    sum += part;
  }
  return sum;
}

/** The first (`-1`) or last (`1`) of the ids given, in stream order. */
function extremeId(ids: readonly (string | null)[], direction: 1 | -1): string | null {
  let best: string | null = null;
  for (const id of ids) {
    if (id !== null && (best === null || compareStreamIds(id, best) * direction > 0)) best = id;
  }
  return best;
}

/**
 * Every group over the lanes: `pending`, `lag` and `entriesRead` summed (null when any lane's is),
 * `consumers` the most of any lane, `lagAgeMs` the oldest, `lastDeliveredId` the latest; `lanes`
 * holds each lane where the group exists, highest first.
 */
function groupTotals(reads: readonly (LaneRead | null)[]): GroupSummary[] {
  const totals = new Map<string, GroupSummary>();
  for (const lane of LISTING_ORDER) {
    for (const group of reads[lane]?.groups ?? []) {
      const total = totals.get(group.name);
      if (total === undefined) {
        totals.set(group.name, { ...group, lanes: [] });
        continue;
      }
      total.consumers = Math.max(total.consumers, group.consumers);
      total.pending += group.pending;
      total.lag = total.lag === null || group.lag === null ? null : total.lag + group.lag;
      total.entriesRead =
        total.entriesRead === null || group.entriesRead === null
          ? null
          : total.entriesRead + group.entriesRead;
      total.lagAgeMs = Math.max(total.lagAgeMs ?? 0, group.lagAgeMs ?? 0);
      if (compareStreamIds(group.lastDeliveredId, total.lastDeliveredId) > 0)
        total.lastDeliveredId = group.lastDeliveredId;
    }
  }
  reads.forEach((read, lane) => {
    for (const group of read?.groups ?? []) {
      const priority = STREAM_LANES[lane] as LaneSummary['priority'];
      totals.get(group.name)?.lanes.push({ priority, pending: group.pending, lag: group.lag });
    }
  });
  return [...totals.values()];
}

/**
 * The more recent of two `inactive` readings: Redis 7.2 says -1 of a consumer that never tried to
 * read the lane (one created by XCLAIM), older servers say nothing (null).
 */
function latestInactive(left: number | null, right: number | null): number | null {
  const readings = [left, right].filter((ms): ms is number => ms !== null && ms >= 0);
  return readings.length > 0 ? Math.min(...readings) : (left ?? right);
}

/** A consumer's numbers on one lane, before they are summed over the lanes. */
interface ConsumerRead {
  group: string;
  name: string;
  pending: number;
  idleMs: number;
  inactiveMs: number | null;
}

/**
 * The Streams view: every stream with its groups, and one stream with its consumers, each over the
 * stream's four priority lanes (totals, and each lane's). Each read is O(1) or O(log n) on the
 * server whatever the stream's length: per lane XINFO STREAM without FULL, XINFO GROUPS / CONSUMERS
 * and MEMORY USAGE with 5 samples, the dead-letter stream's XLEN, and for a group's lag age one
 * XRANGE COUNT 1 after its last delivered id. A stream's lanes share its hash tag, so on a Cluster
 * they are all read on one master. Answers are shared for a second.
 */
@Injectable()
export class StreamsView {
  private readonly cache = new SecondCache(1_000);
  /** Each stream's summary as the last listing read it, to tell which changed since. */
  private listed = new Map<string, string>();

  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Inject(StreamDirectory) private readonly directory: StreamDirectory,
  ) {}

  /** Every visible stream (the body of `GET api/streams`). */
  list(fresh = false): Promise<StreamsBody> {
    const read = () => this.readList();
    return fresh ? this.cache.refresh('list', read) : this.cache.get('list', read);
  }

  /** One stream and its consumers; 404 when it does not exist or is hidden. */
  detail(stream: string): Promise<StreamDetail> {
    if (this.directory.isHidden(stream))
      return Promise.reject(new NotFoundException(`no stream "${stream}"`));
    return this.cache.get(`detail:${stream}`, () => this.readDetail(stream));
  }

  /** Drops what is shared, so that the next read shows an action's effect. */
  invalidate(): void {
    this.cache.clear();
  }

  private async readList(): Promise<StreamsBody> {
    try {
      const { names, truncated, partitionCounts } = await this.directory.names();
      const summaries = await Promise.all(
        names.map((name) => this.summary(name, (of) => partitionCounts.get(of))),
      );
      const streams = summaries.filter((summary) => summary !== null);
      this.forgetChangedDetails(streams);
      return { streams, truncated, partitioned: partitionedStreams(streams, partitionCounts) };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the streams list');
    }
  }

  /**
   * Drops the shared detail of every stream whose summary changed since the last listing: a page
   * re-reads a stream's detail when a listing shows it changed, and must not get one read before.
   */
  private forgetChangedDetails(streams: readonly StreamSummary[]): void {
    const listed = new Map<string, string>();
    for (const summary of streams) {
      const text = JSON.stringify(summary);
      listed.set(summary.name, text);
      if (this.listed.get(summary.name) !== text) this.cache.delete(`detail:${summary.name}`);
    }
    this.listed = listed;
  }

  private async readDetail(stream: string): Promise<StreamDetail> {
    let summary: StreamSummary | null;
    try {
      summary = await this.summary(stream, (of) => this.directory.partitionCount(of));
    } catch (error) {
      throw asHttpError(this.connection, error, `stream "${stream}"`);
    }
    if (summary === null) throw new NotFoundException(`no stream "${stream}"`);
    const { lanes } = this.directory.keysOf(stream);
    const node = nodeForKey(this.connection.client, lanes[NORMAL_LANE] as string);
    try {
      const perGroup = await Promise.all(
        summary.groups.map(async (group) => {
          const perLane = await Promise.all(
            group.lanes.map(async ({ priority }) => {
              const key = lanes[STREAM_LANES.indexOf(priority)] as string;
              const reply = (await node.call('XINFO', 'CONSUMERS', key, group.name)) as unknown[];
              return reply.slice(0, MAX_CONSUMERS).map((flat) => this.consumerRead(group.name, pairs(flat)));
            }),
          );
          return this.consumerTotals(perLane.flat()).slice(0, MAX_CONSUMERS);
        }),
      );
      return { ...summary, consumers: perGroup.flat() };
    } catch (error) {
      throw asHttpError(this.connection, error, `stream "${stream}"`);
    }
  }

  private consumerRead(group: string, info: Map<string, unknown>): ConsumerRead {
    return {
      group,
      name: String(info.get('name')),
      pending: Number(info.get('pending') ?? 0),
      idleMs: Number(info.get('idle') ?? 0),
      inactiveMs: numberOrNull(info.get('inactive')),
    };
  }

  /** One group's consumers over the lanes: pending summed, the most recent activity of any lane. */
  private consumerTotals(reads: readonly ConsumerRead[]): ConsumerSummary[] {
    const totals = new Map<string, ConsumerRead>();
    for (const read of reads) {
      const total = totals.get(read.name);
      if (total === undefined) {
        totals.set(read.name, { ...read });
        continue;
      }
      total.pending += read.pending;
      total.idleMs = Math.min(total.idleMs, read.idleMs);
      total.inactiveMs = latestInactive(total.inactiveMs, read.inactiveMs);
    }
    return [...totals.values()].map((total) => {
      const quietMs = total.inactiveMs !== null && total.inactiveMs >= 0 ? total.inactiveMs : total.idleMs;
      return { ...total, dead: quietMs > this.options.deadConsumerMs };
    });
  }

  /**
   * One stream's summary over its lanes; null when none of its lanes exists (deleted since it was
   * listed). `partitions` gives a partitioned stream's partition count, when known.
   */
  private async summary(
    name: string,
    partitions: (of: string) => number | undefined,
  ): Promise<StreamSummary | null> {
    const { lanes: keys, deadLetter } = this.directory.keysOf(name);
    const { client } = this.connection;
    const node = nodeForKey(client, keys[NORMAL_LANE] as string);
    const [deadLetterLength, ...reads] = await Promise.all([
      client.xlen(deadLetter),
      ...keys.map((key) => this.lane(node, key)),
    ]);
    if (reads.every((read) => read === null)) return null;
    const partition = partitionOfName(name);
    const lanes = reads.map((read, lane): LaneSummary => ({
      priority: STREAM_LANES[lane] as LaneSummary['priority'],
      length: read?.length ?? 0,
      pending: read?.groups.reduce((sum, group) => sum + group.pending, 0) ?? 0,
    }));
    return {
      name,
      length: lanes.reduce((sum, lane) => sum + lane.length, 0),
      firstId: extremeId(
        reads.map((read) => read?.firstId ?? null),
        -1,
      ),
      lastId: extremeId(
        reads.map((read) => read?.lastId ?? null),
        1,
      ),
      entriesAdded: sumOrNull(reads, (read) => read.entriesAdded),
      deadLetterLength,
      memoryBytes: sumOrNull(reads, (read) => read.memoryBytes),
      groups: groupTotals(reads),
      lanes,
      partition:
        partition === null
          ? null
          : ({ ...partition, partitions: partitions(partition.of) ?? null } satisfies StreamPartitionRef),
    };
  }

  /** One lane's key: null when it does not exist. */
  private async lane(node: RedisClient, key: string): Promise<LaneRead | null> {
    const noSuchKey = (error: unknown) => {
      if (error instanceof Error && error.message.includes('no such key')) return null;
      throw error;
    };
    const [info, groups, memory] = await Promise.all([
      (node.call('XINFO', 'STREAM', key) as Promise<unknown[]>).catch(noSuchKey),
      (node.call('XINFO', 'GROUPS', key) as Promise<unknown[]>).catch(noSuchKey),
      (node.call('MEMORY', 'USAGE', key, 'SAMPLES', 5) as Promise<number | null>).catch(() => null),
    ]);
    if (info === null) return null;
    const stream = pairs(info);
    const lastId = entryId(stream.get('last-entry'));
    return {
      length: Number(stream.get('length') ?? 0),
      firstId: entryId(stream.get('first-entry')),
      lastId,
      entriesAdded: numberOrNull(stream.get('entries-added')),
      memoryBytes: numberOrNull(memory),
      groups: await Promise.all(
        (groups ?? []).slice(0, MAX_GROUPS).map((flat) => this.group(key, pairs(flat), lastId)),
      ),
    };
  }

  private async group(key: string, info: Map<string, unknown>, lastId: string | null): Promise<LaneGroup> {
    const lastDeliveredId = String(info.get('last-delivered-id') ?? '0-0');
    const lag = numberOrNull(info.get('lag'));
    let lagAgeMs: number | null = 0;
    if (lastId !== null && lag !== 0 && lastDeliveredId !== lastId) {
      // The oldest undelivered entry is the first one after the group's last delivered id.
      const next = await this.connection.client.xrange(key, `(${lastDeliveredId}`, '+', 'COUNT', 1);
      const id = next[0]?.[0];
      lagAgeMs = id === undefined ? 0 : Math.max(0, Date.now() - idMs(id));
    }
    return {
      name: String(info.get('name')),
      consumers: Number(info.get('consumers') ?? 0),
      pending: Number(info.get('pending') ?? 0),
      lag,
      lagAgeMs,
      entriesRead: numberOrNull(info.get('entries-read')),
      lastDeliveredId,
    };
  }
}

/**
 * The partitioned streams of a listing: those whose partitions it lists, and those whose members
 * run in this app (their partitions may not exist yet), by name.
 */
function partitionedStreams(
  streams: readonly StreamSummary[],
  counts: ReadonlyMap<string, number>,
): PartitionedStreamSummary[] {
  const listed = new Map<string, number[]>();
  for (const name of counts.keys()) listed.set(name, []);
  for (const { partition } of streams) {
    if (partition === null) continue;
    const indexes = listed.get(partition.of);
    if (indexes === undefined) listed.set(partition.of, [partition.index]);
    else indexes.push(partition.index);
  }
  return [...listed]
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([name, indexes]) => ({
      name,
      partitions: counts.get(name) ?? null,
      listed: indexes.sort((left, right) => left - right),
    }));
}
