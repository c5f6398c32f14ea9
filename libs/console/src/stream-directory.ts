import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { RedisConnection, RedisKeyspace } from '@redkit/redis';

import { CONSOLE_CONNECTION, CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import { ConsolePeers } from './console-peers.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { decodeKeyPart, ResumableScan } from './key-scan.js';
import { STREAM_LANES } from './stream-layout.js';

/** SCAN calls one listing may spend finding streams; the next listing goes on from there. */
const SCAN_BUDGET = 20;
/** Stream names remembered from scans, at most (the list says `truncated` past `maxStreams` anyway). */
const MAX_KNOWN = 10_000;

/** The Redis keys of one stream, as @redkit/messaging lays them out (all under the tag `{<stream>}`). */
export interface StreamKeyPair {
  /** The `normal` lane: the stream's key from before there were lanes. */
  stream: string;
  deadLetter: string;
  /** Every lane's key, in {@link STREAM_LANES} order (`normal`'s is `stream`). */
  lanes: string[];
}

/** The key suffixes of a stream's lanes after its tag: `}:stream` (normal), `}:stream:critical`, .... */
const LANE_SUFFIXES = STREAM_LANES.map((lane) => (lane === 'normal' ? '}:stream' : `}:stream:${lane}`));

/** What {@link StreamDirectory.names} found. */
export interface StreamNames {
  names: string[];
  truncated: boolean;
  /** Partition counts of the partitioned streams whose members run in this app, by name. */
  partitionCounts: ReadonlyMap<string, number>;
}

/**
 * Which streams exist: those the app's consumers read (every partition of the partitioned streams
 * its members consume), plus those a SCAN of the messaging keyspace (any lane's key,
 * `<keyPrefix>:messaging:{<stream>}:stream*`, every master of a Cluster) has found. The scan is
 * spread over listings, `SCAN_BUDGET` calls each, so a listing never walks a big keyspace at once;
 * until one whole pass has ended the list says it may be incomplete. Hidden streams never appear;
 * the partitions of a hidden partitioned stream are hidden with it.
 */
@Injectable()
export class StreamDirectory {
  private readonly keyspace: RedisKeyspace;
  private readonly scan: ResumableScan;
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
    this.scan = new ResumableScan(connection.client, `${this.keyspace.base}{*}:stream*`);
  }

  /**
   * The keys of `stream` (its name is encoded as a key part, as the messaging lib does); 400 for a
   * name no stream can have (longer than the connection's `maxKeyPartBytes`).
   */
  keysOf(stream: string): StreamKeyPair {
    try {
      const normal = this.keyspace.tagged(stream, 'stream');
      return {
        stream: normal,
        deadLetter: this.keyspace.tagged(stream, 'dead-letter'),
        lanes: STREAM_LANES.map((lane) =>
          lane === 'normal' ? normal : this.keyspace.tagged(stream, 'stream', lane),
        ),
      };
    } catch (error) {
      throw new BadRequestException(`stream: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** True when the options hide `stream` (or the partitioned stream it is a partition of). */
  isHidden(stream: string): boolean {
    return this.options.hidden.matches(stream);
  }

  /** The partition count of `stream` when a member of it runs in this app. */
  partitionCount(stream: string): number | undefined {
    for (const member of this.peers.consumers?.listPartitioned?.() ?? []) {
      if (member.stream.name === stream) return member.stream.partitions;
    }
    return undefined;
  }

  /**
   * Visible stream names, sorted, at most `maxStreams`; `truncated` when there may be more (more
   * than `maxStreams`, or the first scan pass has not ended yet).
   */
  async names(): Promise<StreamNames> {
    const advance = this.advancing.then(() => this.advance());
    this.advancing = advance.catch(() => undefined);
    await advance;
    const names = new Set<string>(this.known.keys());
    const consumers = this.peers.consumers;
    for (const consumer of consumers?.list() ?? []) names.add(consumer.stream);
    const partitionCounts = new Map<string, number>();
    // StreamConsumers.list() leaves the partitions' consumers out; their members say which exist.
    for (const { stream } of consumers?.listPartitioned?.() ?? []) {
      if (partitionCounts.has(stream.name) || this.isHidden(stream.name)) continue;
      partitionCounts.set(stream.name, stream.partitions);
      for (let index = 0; index < stream.partitions; index += 1) names.add(`${stream.name}#${index}`);
    }
    const visible = [...names].filter((name) => !this.isHidden(name)).sort();
    const truncated = !this.passCompleted || this.overflow || visible.length > this.options.maxStreams;
    return { names: visible.slice(0, this.options.maxStreams), truncated, partitionCounts };
  }

  private async advance(): Promise<void> {
    const pass = this.scan.passes;
    const { keys, passCompleted } = await this.scan.advance(SCAN_BUDGET);
    const base = this.keyspace.base;
    for (const key of keys) {
      const suffix = LANE_SUFFIXES.find((candidate) => key.endsWith(candidate));
      if (suffix === undefined || !key.startsWith(`${base}{`)) continue;
      const name = decodeKeyPart(key.slice(base.length + 1, key.length - suffix.length));
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
