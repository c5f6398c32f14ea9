import { Inject, Injectable } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import type { DeadLetterEntry, DeadLetterPage, LanePriority, ReplayReport } from './console-api.types.js';
import { CONSOLE_CONNECTION } from './console.constants.js';
import { REPLAY_BATCH, REPLAY_DEAD_LETTERS } from './console-scripts.js';
import { PayloadRedactor } from './payload-redactor.js';
import { asHttpError } from './redis-unavailable.js';
import { StreamDirectory } from './stream-directory.js';
import { isLanePriority } from './stream-layout.js';

/** Which dead letters an action is for: the ids given, or the oldest `all.limit`. */
export type DeadLetterSelection = { ids: string[] } | { all: { limit: number } };

/** The metadata SETTLE_FAILURE of @redkit/messaging writes before the original fields. */
const METADATA = new Set(['originalId', 'group', 'consumer', 'error', 'deliveries', 'failedAt']);
const METADATA_FIELDS = METADATA.size * 2;

/**
 * A stream's dead letters (one dead-letter stream for every lane), paged by id (XRANGE with an
 * exclusive start and a COUNT), replayed to the stream or deleted, by id or in bulk with a bound. A
 * replay appends the original fields to the lane the dead letter's `priority` names and deletes the
 * dead letter, in one script per batch (console_replay_dead_letters).
 */
@Injectable()
export class DeadLettersService {
  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(StreamDirectory) private readonly directory: StreamDirectory,
    @Inject(PayloadRedactor) private readonly redactor: PayloadRedactor,
  ) {}

  async page(stream: string, after: string | undefined, limit: number): Promise<DeadLetterPage> {
    const key = this.directory.keysOf(stream).deadLetter;
    const { client } = this.connection;
    try {
      const [rows, length] = await Promise.all([
        client.xrange(key, after === undefined ? '-' : `(${after}`, '+', 'COUNT', limit),
        client.xlen(key),
      ]);
      const entries = rows.map(([id, flat]) => this.entry(id, flat));
      const last = rows.at(-1);
      return { entries, next: rows.length === limit && last !== undefined ? last[0] : null, length };
    } catch (error) {
      throw asHttpError(this.connection, error, `the dead letters of "${stream}"`);
    }
  }

  async replay(stream: string, selection: DeadLetterSelection): Promise<ReplayReport> {
    const { lanes, deadLetter } = this.directory.keysOf(stream);
    const { client } = this.connection;
    const report: ReplayReport = { replayed: [], failed: [], remaining: 0 };
    try {
      const ids = await this.select(deadLetter, selection);
      for (let start = 0; start < ids.length; start += REPLAY_BATCH) {
        const batch = ids.slice(start, start + REPLAY_BATCH);
        const results = await REPLAY_DEAD_LETTERS.run(client, [...lanes, deadLetter], batch);
        for (const [id, newId, reason, priority] of results) {
          if (newId === '') report.failed.push({ id, reason });
          else report.replayed.push({ id, newId, priority: isLanePriority(priority) ? priority : 'normal' });
        }
      }
      report.remaining = await client.xlen(deadLetter);
      return report;
    } catch (error) {
      throw asHttpError(this.connection, error, 'the replay');
    }
  }

  async delete(
    stream: string,
    selection: DeadLetterSelection,
  ): Promise<{ deleted: number; remaining: number }> {
    const deadLetter = this.directory.keysOf(stream).deadLetter;
    const { client } = this.connection;
    try {
      const ids = await this.select(deadLetter, selection);
      const deleted = ids.length === 0 ? 0 : await client.xdel(deadLetter, ...ids);
      return { deleted, remaining: await client.xlen(deadLetter) };
    } catch (error) {
      throw asHttpError(this.connection, error, 'the delete');
    }
  }

  /** The ids given, or the oldest `limit` dead letters' (one XRANGE with a COUNT). */
  private async select(deadLetter: string, selection: DeadLetterSelection): Promise<string[]> {
    if ('ids' in selection) return selection.ids;
    const rows = await this.connection.client.xrange(deadLetter, '-', '+', 'COUNT', selection.all.limit);
    return rows.map(([id]) => id);
  }

  private entry(id: string, flat: string[]): DeadLetterEntry {
    const meta = new Map<string, string>();
    let originalFrom = 0;
    // The metadata comes first (as SETTLE_FAILURE writes it); the original fields follow.
    while (
      originalFrom < METADATA_FIELDS &&
      originalFrom + 1 < flat.length &&
      METADATA.has(flat[originalFrom] as string)
    ) {
      meta.set(flat[originalFrom] as string, flat[originalFrom + 1] as string);
      originalFrom += 2;
    }
    // The lane it failed on comes after the original fields (absent before there were lanes).
    let priority: LanePriority = 'normal';
    const original: string[] = [];
    for (let at = originalFrom; at + 1 < flat.length; at += 2) {
      const name = flat[at] as string;
      const value = flat[at + 1] as string;
      if (name === 'priority' && isLanePriority(value)) priority = value;
      else original.push(name, value);
    }
    const { fields, truncated } = this.redactor.entryFields(original);
    const failedAt = Number(meta.get('failedAt'));
    return {
      id,
      originalId: meta.get('originalId') ?? '',
      priority,
      group: meta.get('group') ?? '',
      consumer: meta.get('consumer') ?? '',
      error: this.redactor.text(meta.get('error') ?? ''),
      deliveries: Number(meta.get('deliveries') ?? 0),
      failedAt: Number.isFinite(failedAt) ? new Date(failedAt).toISOString() : '',
      fields,
      truncated,
    };
  }
}
