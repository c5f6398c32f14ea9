import type { RedisConnection } from '@redkit/redis';

import { MESSAGING_KEY_MODULE } from './messaging.constants.js';
import { StreamKeys } from './stream-keys.js';

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

/** What a dashboard or a health check wants to know about one stream. */
export interface StreamStats {
  stream: string;
  length: number;
  deadLetterLength: number;
  groups: StreamGroupInfo[];
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
  /** The original entry's fields (`type`, `data` as JSON text, ...). */
  fields: Record<string, string>;
}

const DEAD_LETTER_FIELDS = new Set(['originalId', 'group', 'consumer', 'error', 'deliveries', 'failedAt']);

function pairs(flat: readonly unknown[]): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (let index = 0; index + 1 < flat.length; index += 2) map.set(String(flat[index]), flat[index + 1]);
  return map;
}

/**
 * Read-only introspection of streams: length, groups with their lag and pending count, and the
 * dead-letter stream.
 *
 * @example
 * const { length, deadLetterLength, groups } = await inspector.stats('orders');
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

  /** Length, dead-letter length and groups of a stream (all zero / empty when it does not exist). */
  async stats(stream: string): Promise<StreamStats> {
    const { stream: key, deadLetter } = this.keys.of(stream);
    const { client } = this.connection;
    const [length, deadLetterLength, groups] = await Promise.all([
      client.xlen(key),
      client.xlen(deadLetter),
      (client.xinfo('GROUPS', key) as Promise<unknown[][]>).catch((error: unknown) => {
        if (error instanceof Error && error.message.includes('no such key')) return [];
        throw error;
      }),
    ]).catch(this.refused);
    return {
      stream,
      length,
      deadLetterLength,
      groups: groups.map((flat) => {
        const info = pairs(flat);
        const lag = info.get('lag');
        return {
          name: String(info.get('name')),
          consumers: Number(info.get('consumers')),
          pending: Number(info.get('pending')),
          lag: lag === null || lag === undefined ? null : Number(lag),
          lastDeliveredId: String(info.get('last-delivered-id')),
        };
      }),
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
      return {
        id,
        originalId: String(info.get('originalId')),
        group: String(info.get('group')),
        consumer: String(info.get('consumer')),
        error: String(info.get('error')),
        deliveries: Number(info.get('deliveries')),
        failedAt: new Date(Number(info.get('failedAt'))),
        fields,
      };
    });
  }
}
