import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { RedisConnection, RedisKeyspace } from '@redkit/redis';

import { CONSOLE_CONNECTION, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import { ConsolePeers } from './console-peers.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { decodeKeyPart, ResumableScan } from './key-scan.js';

/** SCAN calls one listing may spend finding streams; the next listing goes on from there. */
const SCAN_BUDGET = 20;
/** Stream names remembered from scans, at most (the list says `truncated` past `maxStreams` anyway). */
const MAX_KNOWN = 10_000;

/** The Redis keys of one stream, as @redkit/messaging lays them out. */
export interface StreamKeyPair {
  stream: string;
  deadLetter: string;
}

/**
 * Which streams exist: those the app's consumers read, plus those a SCAN of the messaging keyspace
 * (`<keyPrefix>:messaging:{<stream>}:stream`, every master of a Cluster) has found. The scan is
 * spread over listings, `SCAN_BUDGET` calls each, so a listing never walks a big keyspace at once;
 * until one whole pass has ended the list says it may be incomplete. Hidden streams never appear.
 */
@Injectable()
export class StreamDirectory {
  private readonly keyspace: RedisKeyspace;
  private readonly scan: ResumableScan;
  private readonly suffix = '}:stream';
  /** Stream name -> the scan pass it was last seen in. */
  private readonly known = new Map<string, number>();
  private passCompleted = false;
  private overflow = false;
  private advancing: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
  ) {
    this.keyspace = connection.keyspace('messaging');
    this.scan = new ResumableScan(connection.client, `${this.keyspace.base}{*${this.suffix}`);
  }

  /**
   * The keys of `stream` (its name is encoded as a key part, as the messaging lib does); 400 for a
   * name no stream can have (longer than the connection's `maxKeyPartBytes`).
   */
  keysOf(stream: string): StreamKeyPair {
    try {
      return {
        stream: this.keyspace.tagged(stream, 'stream'),
        deadLetter: this.keyspace.tagged(stream, 'dead-letter'),
      };
    } catch (error) {
      throw new BadRequestException(`stream: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** True when the options hide `stream`. */
  isHidden(stream: string): boolean {
    return this.options.hidden.matches(stream);
  }

  /**
   * Visible stream names, sorted, at most `maxStreams`; `truncated` when there may be more (more
   * than `maxStreams`, or the first scan pass has not ended yet).
   */
  async names(): Promise<{ names: string[]; truncated: boolean }> {
    const advance = this.advancing.then(() => this.advance());
    this.advancing = advance.catch(() => undefined);
    await advance;
    const names = new Set<string>(this.known.keys());
    for (const consumer of this.peers.consumers?.list() ?? []) names.add(consumer.stream);
    const visible = [...names].filter((name) => !this.isHidden(name)).sort();
    const truncated = !this.passCompleted || this.overflow || visible.length > this.options.maxStreams;
    return { names: visible.slice(0, this.options.maxStreams), truncated };
  }

  private async advance(): Promise<void> {
    const pass = this.scan.passes;
    const { keys, passCompleted } = await this.scan.advance(SCAN_BUDGET);
    const base = this.keyspace.base;
    for (const key of keys) {
      if (!key.startsWith(`${base}{`) || !key.endsWith(this.suffix)) continue;
      const name = decodeKeyPart(key.slice(base.length + 1, key.length - this.suffix.length));
      if (this.known.has(name) || this.known.size < MAX_KNOWN) this.known.set(name, pass);
      else this.overflow = true;
    }
    if (passCompleted) {
      // Names not seen during the pass that just ended are gone (deleted, or expired).
      for (const [name, seen] of this.known) if (seen < pass) this.known.delete(name);
      this.passCompleted = true;
      this.overflow = this.known.size >= MAX_KNOWN;
    }
  }
}
