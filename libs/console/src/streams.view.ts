import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import { nodeForKey } from './cluster-slot.js';
import type {
  ConsumerSummary,
  GroupSummary,
  StreamDetail,
  StreamsBody,
  StreamSummary,
} from './console-api.types.js';
import { CONSOLE_CONNECTION, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import { idMs } from './console-input.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { asHttpError } from './redis-unavailable.js';
import { SecondCache } from './second-cache.js';
import { StreamDirectory } from './stream-directory.js';

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

/**
 * The Streams view: every stream with its groups, and one stream with its consumers. Each read is
 * O(1) or O(log n) on the server whatever the stream's length: XINFO STREAM without FULL, XINFO
 * GROUPS / CONSUMERS, XLEN, MEMORY USAGE with 5 samples, and for a group's lag age one XRANGE
 * COUNT 1 after its last delivered id. Answers are shared for a second.
 */
@Injectable()
export class StreamsView {
  private readonly cache = new SecondCache(1_000);

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
      const { names, truncated } = await this.directory.names();
      const summaries = await Promise.all(names.map((name) => this.summary(name)));
      return { streams: summaries.filter((summary) => summary !== null), truncated };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the streams list');
    }
  }

  private async readDetail(stream: string): Promise<StreamDetail> {
    let summary: StreamSummary | null;
    try {
      summary = await this.summary(stream);
    } catch (error) {
      throw asHttpError(this.connection, error, `stream "${stream}"`);
    }
    if (summary === null) throw new NotFoundException(`no stream "${stream}"`);
    const key = this.directory.keysOf(stream).stream;
    const node = nodeForKey(this.connection.client, key);
    try {
      const perGroup = await Promise.all(
        summary.groups.map(async (group) => {
          const reply = (await node.call('XINFO', 'CONSUMERS', key, group.name)) as unknown[];
          return reply.slice(0, MAX_CONSUMERS).map((flat) => this.consumer(group.name, pairs(flat)));
        }),
      );
      return { ...summary, consumers: perGroup.flat() };
    } catch (error) {
      throw asHttpError(this.connection, error, `stream "${stream}"`);
    }
  }

  private consumer(group: string, info: Map<string, unknown>): ConsumerSummary {
    const idleMs = Number(info.get('idle') ?? 0);
    const inactiveMs = numberOrNull(info.get('inactive'));
    const quietMs = inactiveMs !== null && inactiveMs >= 0 ? inactiveMs : idleMs;
    return {
      group,
      name: String(info.get('name')),
      pending: Number(info.get('pending') ?? 0),
      idleMs,
      inactiveMs,
      dead: quietMs > this.options.deadConsumerMs,
    };
  }

  /** One stream's summary; null when it does not exist (deleted since it was listed). */
  private async summary(name: string): Promise<StreamSummary | null> {
    const { stream: key, deadLetter } = this.directory.keysOf(name);
    const { client } = this.connection;
    const node = nodeForKey(client, key);
    const noSuchKey = (error: unknown) => {
      if (error instanceof Error && error.message.includes('no such key')) return null;
      throw error;
    };
    const [info, groups, deadLetterLength, memory] = await Promise.all([
      (node.call('XINFO', 'STREAM', key) as Promise<unknown[]>).catch(noSuchKey),
      (node.call('XINFO', 'GROUPS', key) as Promise<unknown[]>).catch(noSuchKey),
      client.xlen(deadLetter),
      (node.call('MEMORY', 'USAGE', key, 'SAMPLES', 5) as Promise<number | null>).catch(() => null),
    ]);
    if (info === null) return null;
    const stream = pairs(info);
    const lastId = entryId(stream.get('last-entry'));
    const groupSummaries = await Promise.all(
      (groups ?? []).slice(0, MAX_GROUPS).map((flat) => this.group(key, pairs(flat), lastId)),
    );
    return {
      name,
      length: Number(stream.get('length') ?? 0),
      firstId: entryId(stream.get('first-entry')),
      lastId,
      entriesAdded: numberOrNull(stream.get('entries-added')),
      deadLetterLength,
      memoryBytes: numberOrNull(memory),
      groups: groupSummaries,
    };
  }

  private async group(key: string, info: Map<string, unknown>, lastId: string | null): Promise<GroupSummary> {
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
