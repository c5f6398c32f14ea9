import type { RedisConnection } from '@redkit/redis';

import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { StreamKeys } from './stream-keys.js';
import {
  DEFAULT_PRIORITY,
  FIELD_PRIORITY,
  isMessagePriority,
  MESSAGE_PRIORITIES,
  type MessagePriority,
} from './stream-message.js';

/** One consumer group of a stream, as XINFO GROUPS reports it. */
export interface StreamGroupInfo {
  name: string;
  consumers: number;
  /** Delivered and not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell (after deletions, or before 7.0). */
  lag: number | null;
  lastDeliveredId: string;
}

/** One priority lane of a stream. */
export interface StreamLaneStats {
  priority: MessagePriority;
  length: number;
  /** Entries of this lane delivered and not yet acknowledged, summed over its groups. */
  pending: number;
  groups: StreamGroupInfo[];
}

/** What a dashboard or a health check wants to know about one stream. */
export interface StreamStats {
  stream: string;
  /** Entries in all its lanes. */
  length: number;
  deadLetterLength: number;
  /**
   * Each group over all lanes: `pending` and `lag` summed (`lag` null when any lane's is),
   * `consumers` the most of any lane, `lastDeliveredId` the latest of any lane.
   */
  groups: StreamGroupInfo[];
  /** Each lane on its own, highest first (`critical`, `high`, `normal`, `low`). */
  lanes: StreamLaneStats[];
}

/** One dead-letter entry: the original fields plus why and after how many deliveries it was parked. */
export interface DeadLetter {
  /** Id in the dead-letter stream. */
  id: string;
  originalId: string;
  group: string;
  consumer: string;
  error: string;
  deliveries: number;
  failedAt: Date;
  /** The lane it failed on (`normal` for dead letters written before there were lanes). */
  priority: MessagePriority;
  /** The original entry's fields (`type`, `data` as JSON text, ...). */
  fields: Record<string, string>;
}

const DEAD_LETTER_FIELDS = new Set([
  'originalId',
  'group',
  'consumer',
  'error',
  'deliveries',
  'failedAt',
  FIELD_PRIORITY,
]);

/** Lanes in the order their groups are listed: `normal` (the stream's original key) first. */
const LISTING_ORDER = [
  MESSAGE_PRIORITIES.indexOf('normal'),
  ...MESSAGE_PRIORITIES.flatMap((priority, index) => (priority === 'normal' ? [] : [index])),
];

/** Orders stream ids (`<ms>-<seq>`) numerically. */
function compareIds(left: string, right: string): number {
  const [leftMs, leftSeq] = left.split('-');
  const [rightMs, rightSeq] = right.split('-');
  return Number(leftMs) - Number(rightMs) || Number(leftSeq) - Number(rightSeq);
}

function groupInfo(flat: unknown[]): StreamGroupInfo {
  const info = pairs(flat);
  const lag = info.get('lag');
  return {
    name: String(info.get('name')),
    consumers: Number(info.get('consumers')),
    pending: Number(info.get('pending')),
    lag: lag === null || lag === undefined ? null : Number(lag),
    lastDeliveredId: String(info.get('last-delivered-id')),
  };
}

/** The groups of every lane as one list: see {@link StreamStats.groups}. */
function groupTotals(lanes: readonly StreamLaneStats[]): StreamGroupInfo[] {
  const totals = new Map<string, StreamGroupInfo>();
  for (const index of LISTING_ORDER) {
    for (const group of (lanes[index] as StreamLaneStats).groups) {
      const total = totals.get(group.name);
      if (total === undefined) {
        totals.set(group.name, { ...group });
        continue;
      }
      total.consumers = Math.max(total.consumers, group.consumers);
      total.pending += group.pending;
      total.lag = total.lag === null || group.lag === null ? null : total.lag + group.lag;
      if (compareIds(group.lastDeliveredId, total.lastDeliveredId) > 0)
        total.lastDeliveredId = group.lastDeliveredId;
    }
  }
  return [...totals.values()];
}

function pairs(flat: readonly unknown[]): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (let index = 0; index + 1 < flat.length; index += 2) map.set(String(flat[index]), flat[index + 1]);
  return map;
}

/**
 * Read-only introspection of streams: length, groups with their lag and pending count, in total and
 * per priority lane, and the dead-letter stream.
 *
 * @example
 * const { length, deadLetterLength, groups, lanes } = await inspector.stats('orders');
 */
export class StreamInspector {
  private readonly keys: StreamKeys;

  constructor(private readonly connection: RedisConnection) {
    this.keys = new StreamKeys(connection.keyspace(MESSAGING_KEY_MODULE));
  }

  /**
   * Rethrows `error`: a refusal for the ACL user as the RedisPermissionError it stands for, logged once
   * and reported by the connection's health.
   */
  private readonly refused = (error: unknown): never => {
    throw this.connection.notePermission('messaging', error) ?? error;
  };

  /** Length, dead-letter length and groups of a stream, in total and per lane (zero / empty when it does not exist). */
  async stats(stream: string): Promise<StreamStats> {
    const { lanes: keys, deadLetter } = this.keys.of(stream);
    const { client } = this.connection;
    const [deadLetterLength, ...lanes] = await Promise.all([
      client.xlen(deadLetter),
      ...keys.map(async (key, index): Promise<StreamLaneStats> => {
        const [length, groups] = await Promise.all([
          client.xlen(key),
          (client.xinfo('GROUPS', key) as Promise<unknown[][]>).catch((error: unknown) => {
            if (error instanceof Error && error.message.includes('no such key')) return [];
            throw error;
          }),
        ]);
        const infos = groups.map(groupInfo);
        return {
          priority: MESSAGE_PRIORITIES[index] as MessagePriority,
          length,
          pending: infos.reduce((sum, group) => sum + group.pending, 0),
          groups: infos,
        };
      }),
    ]).catch(this.refused);
    return {
      stream,
      length: lanes.reduce((sum, lane) => sum + lane.length, 0),
      deadLetterLength,
      groups: groupTotals(lanes),
      lanes,
    };
  }

  /** The oldest `count` entries of the stream's dead-letter stream. */
  async deadLetters(stream: string, count = 100): Promise<DeadLetter[]> {
    const entries = await this.connection.client
      .xrange(this.keys.of(stream).deadLetter, '-', '+', 'COUNT', count)
      .catch(this.refused);
    return entries.map(([id, flat]) => {
      const info = pairs(flat);
      const fields: Record<string, string> = {};
      for (const [name, value] of info) if (!DEAD_LETTER_FIELDS.has(name)) fields[name] = String(value);
      const priority = info.get(FIELD_PRIORITY);
      return {
        id,
        originalId: String(info.get('originalId')),
        group: String(info.get('group')),
        consumer: String(info.get('consumer')),
        error: String(info.get('error')),
        deliveries: Number(info.get('deliveries')),
        failedAt: new Date(Number(info.get('failedAt'))),
        priority: isMessagePriority(priority) ? priority : DEFAULT_PRIORITY,
        fields,
      };
    });
  }
}
