import { MetricsService } from '@redkit/metrics';
import {
  REDIS_DEFAULTS,
  redisSpanAttributes,
  runScriptDurably,
  scanKeys,
  sendCommandDurably,
  type DurableReply,
  type RedisClient,
  type RedisConnection,
  type RedisKeyspace,
  type RedisScript,
  type RedkitSpan,
  type SpanAttributes,
} from '@redkit/redis';

import { midpointOfDecimals, subtractDecimals } from './decimal.js';
import { bookChecksumOfRanges } from './orderbook-checksum.js';
import {
  BookNotFoundError,
  CrossedBookError,
  OrderBookDurabilityError,
  OrderBookError,
  OrderBookValidationError,
  SequenceGapError,
  StaleSequenceError,
  UnknownSymbolError,
} from './orderbook.errors.js';
import { encodeSide, type EncodedSide, type OrderBookLevel } from './orderbook-levels.js';
import { OrderBookMetrics, type OrderBookWriteOp, type OrderBookWriteOutcome } from './orderbook.metrics.js';
import {
  describeRead,
  describeWrite,
  ORDERBOOK_FOUND,
  orderBookTracer,
  traceBookOperation,
  type OrderBookOperation,
} from './orderbook.tracing.js';
import type { OrderBookModuleOptions } from './orderbook-options.interface.js';
import {
  MAX_SYMBOL_LENGTH,
  resolveOrderBookOptions,
  type ResolvedOrderBookOptions,
  type ResolvedSymbolOptions,
} from './orderbook-options.validator.js';
import {
  applyDeltaScript,
  readBookScript,
  saveSnapshotScript,
  type WriteReply,
} from './orderbook-scripts.js';
import type {
  OrderBookSnapshot,
  OrderBookTop,
  OrderBookWrite,
  OrderBookWriteResult,
} from './orderbook.types.js';

/** A symbol's keys and grid, resolved once. */
interface BookEntry {
  /** bids, asks, meta, top: one hash tag. */
  keys: readonly [string, string, string, string];
  /** bids, asks, meta: the read script's keys. */
  scriptKeys: readonly [string, string, string];
  grid: ResolvedSymbolOptions;
  /** The last read's reply and depth and what it parsed to, reused while the book is unchanged. */
  lastReply?: string;
  lastDepth?: number;
  lastSnapshot?: OrderBookSnapshot;
}

/** The memo of symbols is dropped whole when it grows past this. */
const SYMBOL_MEMO_LIMIT = 10_000;
const META_SUFFIX = '}:meta';

const OUTCOMES: Record<string, OrderBookWriteOutcome> = {
  STALE: 'stale',
  GAP: 'gap',
  CROSSED: 'crossed',
  NOT_FOUND: 'not_found',
};

function decodeKeyPart(part: string): string {
  return part.includes('%')
    ? part.replace(/%([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : part;
}

/**
 * Order books in Redis, one per symbol: bids and asks in sorted sets scored by integer ticks, each
 * member the level's exact `price:quantity`, a metadata hash, and a string of the top levels that
 * every write re-renders; the keys of a symbol share a hash tag, so every operation is one command
 * or one script on one Cluster slot.
 *
 * - `saveSnapshot` replaces a whole book atomically; `applyDelta` changes levels only when the
 *   sequence follows on (`sequenceMode`) and the book stays uncrossed (unless `allowCrossed`).
 * - `getSnapshot` and `getTop` read one consistent view of both sides and the metadata: up to
 *   `topDepth` levels one GET of the top string (written by the same script as each change), deeper
 *   one script over the sorted sets; with a checksum clients can verify.
 * - Every write is validated whole before anything is sent: one bad level refuses the write.
 *
 * @example
 * await books.saveSnapshot('BTC-USD', { sequence: 1, bids: [{ price: '100.5', quantity: '2' }], asks: [] });
 * await books.applyDelta('BTC-USD', { sequence: 2, bids: [{ price: '100.5', quantity: '0' }], asks: [] });
 * const { bids, asks, checksum } = (await books.getSnapshot('BTC-USD', 20))!;
 */
export class OrderBookStore {
  private readonly options: ResolvedOrderBookOptions;
  private readonly client: RedisClient;
  private readonly keys: RedisKeyspace;
  private readonly metrics: OrderBookMetrics;
  private readonly books = new Map<string, BookEntry>();
  private readonly ttlArgument: string;
  private readonly topDepthArgument: string;
  private readonly allowCrossedArgument: string;
  /** The server's span attributes, made on the first traced operation. */
  private spanAttributes?: SpanAttributes;

  /**
   * @throws OrderBookOptionsError naming the option, when an option is invalid.
   */
  constructor(
    private readonly connection: RedisConnection,
    options: OrderBookModuleOptions = {},
    metrics?: MetricsService,
  ) {
    // (A stand-in connection without options only serves option checks that fail before it is used.)
    this.options = resolveOrderBookOptions(
      options,
      connection.options?.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    );
    this.client = connection.client;
    this.keys = connection.keyspace('orderbook');
    this.metrics = new OrderBookMetrics(metrics ?? new MetricsService());
    this.ttlArgument = String(this.options.idleTtlMs);
    this.topDepthArgument = String(this.options.topDepth);
    this.allowCrossedArgument = this.options.allowCrossed ? '1' : '0';
  }

  /**
   * Replaces the whole book of `symbol` in one script: readers see the old book or the new one,
   * never a mix. The sequence must be above the book's (a snapshot older than the book is refused
   * with `StaleSequenceError`; `delete` first to restart a feed at a lower number).
   *
   * @throws InvalidLevelError / OrderBookValidationError for bad input, UnknownSymbolError,
   * CrossedBookError (unless `allowCrossed`), StaleSequenceError. Nothing is written then.
   */
  saveSnapshot(symbol: string, snapshot: OrderBookWrite): Promise<OrderBookWriteResult> {
    if (orderBookTracer.enabled)
      return this.traced('saveSnapshot', symbol, () => this.writeSnapshot(symbol, snapshot), describeWrite);
    return this.writeSnapshot(symbol, snapshot);
  }

  private async writeSnapshot(symbol: string, snapshot: OrderBookWrite): Promise<OrderBookWriteResult> {
    let bids: EncodedSide;
    let asks: EncodedSide;
    let book: BookEntry;
    try {
      book = this.book(symbol);
      this.checkWrite(snapshot);
      const limits = { removals: false, maxLevels: this.options.maxLevelsPerSide };
      bids = encodeSide('bids', snapshot.bids, book.grid, limits);
      asks = encodeSide('asks', snapshot.asks, book.grid, limits);
      if (!this.options.allowCrossed && bids.count > 0 && asks.count > 0 && bids.maxTicks >= asks.minTicks) {
        throw new CrossedBookError(symbol, bids.maxPrice, asks.minPrice);
      }
    } catch (error) {
      throw this.refused('snapshot', error);
    }
    const args = [
      String(snapshot.sequence),
      this.ttlArgument,
      this.topDepthArgument,
      String(bids.count),
      bids.args,
      asks.args,
    ];
    return this.write('snapshot', symbol, snapshot.sequence, saveSnapshotScript, book.keys, args);
  }

  /**
   * Applies level updates: a quantity replaces the level's size, `"0"` removes the level. Accepted
   * only when `sequence` is the book's + 1 (`sequenceMode: 'next'`, default) or above it
   * (`'greater'`), and when the book stays uncrossed (unless `allowCrossed`). Atomic: on any refusal
   * nothing changed.
   *
   * @throws SequenceGapError, StaleSequenceError, CrossedBookError, BookNotFoundError,
   * InvalidLevelError / OrderBookValidationError, UnknownSymbolError.
   */
  applyDelta(symbol: string, delta: OrderBookWrite): Promise<OrderBookWriteResult> {
    if (orderBookTracer.enabled)
      return this.traced('applyDelta', symbol, () => this.writeDelta(symbol, delta), describeWrite);
    return this.writeDelta(symbol, delta);
  }

  private async writeDelta(symbol: string, delta: OrderBookWrite): Promise<OrderBookWriteResult> {
    let bids: EncodedSide;
    let asks: EncodedSide;
    let book: BookEntry;
    try {
      book = this.book(symbol);
      this.checkWrite(delta);
      const limits = { removals: true, maxLevels: this.options.maxLevelsPerSide };
      bids = encodeSide('bids', delta.bids, book.grid, limits);
      asks = encodeSide('asks', delta.asks, book.grid, limits);
    } catch (error) {
      throw this.refused('delta', error);
    }
    const args = [
      String(delta.sequence),
      this.options.sequenceMode,
      this.allowCrossedArgument,
      this.ttlArgument,
      this.topDepthArgument,
      String(bids.count),
      bids.args,
      asks.args,
    ];
    return this.write('delta', symbol, delta.sequence, applyDeltaScript, book.keys, args);
  }

  /**
   * The top `depth` levels of each side and the metadata, one consistent view (one GET up to
   * `topDepth`, else one script), with the checksum of what was returned. `null` when there is no
   * book for `symbol`.
   */
  getSnapshot(symbol: string, depth = 20): Promise<OrderBookSnapshot | null> {
    if (orderBookTracer.enabled)
      return this.traced('getSnapshot', symbol, () => this.readSnapshot(symbol, depth), describeRead, depth);
    return this.readSnapshot(symbol, depth);
  }

  private async readSnapshot(symbol: string, depth: number): Promise<OrderBookSnapshot | null> {
    const book = this.book(symbol);
    if (!Number.isInteger(depth) || depth < 1 || depth > this.options.maxDepth) {
      throw new OrderBookValidationError(
        'depth',
        `must be a whole number from 1 to ${this.options.maxDepth}, got ${depth}`,
      );
    }
    const started = performance.now();
    try {
      const reply = await this.read(book, depth);
      return reply === null ? null : this.parse(book, symbol, reply, depth);
    } finally {
      this.metrics.snapshotReadSeconds.observe((performance.now() - started) / 1000);
    }
  }

  /** Best bid and ask with spread and mid, in one consistent read. `null` when there is no book. */
  getTop(symbol: string): Promise<OrderBookTop | null> {
    if (orderBookTracer.enabled)
      return this.traced('getTop', symbol, () => this.readTop(symbol), describeRead, 1);
    return this.readTop(symbol);
  }

  private async readTop(symbol: string): Promise<OrderBookTop | null> {
    const book = this.book(symbol);
    const started = performance.now();
    try {
      const reply = await this.read(book, 1);
      if (reply === null) return null;
      const {
        bids: _bids,
        asks: _asks,
        depth: _depth,
        checksum: _checksum,
        ...top
      } = this.parse(book, symbol, reply, 1);
      return top;
    } finally {
      this.metrics.topReadSeconds.observe((performance.now() - started) / 1000);
    }
  }

  /**
   * Symbols that have a book now, sorted. Uses SCAN (never KEYS) over every master of a Cluster,
   * so it is O(keys) in the background of the server, not a blocking call.
   */
  async listSymbols(): Promise<string[]> {
    const base = this.keys.base;
    const found = new Set<string>();
    for await (const batch of scanKeys(this.client, `${base}{*${META_SUFFIX}`)) {
      for (const key of batch) {
        if (!key.startsWith(`${base}{`) || !key.endsWith(META_SUFFIX)) continue;
        found.add(decodeKeyPart(key.slice(base.length + 1, key.length - META_SUFFIX.length)));
      }
    }
    return [...found].sort();
  }

  /**
   * Removes the book of `symbol` (all its keys). Resolves true when there was one. In durable mode,
   * rejects with `OrderBookDurabilityError` when too few replicas acknowledged the removal.
   */
  delete(symbol: string): Promise<boolean> {
    if (orderBookTracer.enabled)
      return this.traced(
        'delete',
        symbol,
        () => this.deleteBook(symbol),
        (span, removed) => span.setAttribute(ORDERBOOK_FOUND, removed),
      );
    return this.deleteBook(symbol);
  }

  private async deleteBook(symbol: string): Promise<boolean> {
    const book = this.book(symbol);
    let removed: number;
    let waited: DurableReply<unknown> | undefined;
    try {
      if (this.options.durability === undefined) removed = await this.client.unlink(...book.keys);
      else {
        waited = await sendCommandDurably(this.client, 'unlink', book.keys, this.options.durability);
        removed = Number(waited.reply);
      }
    } catch (error) {
      this.metrics.write('delete', 'error');
      throw this.connection.notePermission('orderbook', error) ?? error;
    }
    // Nothing removed is nothing written: no replica has anything to acknowledge.
    if (waited !== undefined && removed > 0) this.checkReplicated('delete', symbol, waited);
    this.metrics.write('delete', 'ok');
    return removed > 0;
  }

  /**
   * Durable mode: counts a write's WAIT outcome; throws OrderBookDurabilityError when too few
   * replicas acknowledged it (counted as the write's `unreplicated` outcome).
   */
  private checkReplicated(op: OrderBookWriteOp, symbol: string, waited: DurableReply<unknown>): void {
    this.metrics.durable(op, waited.durable);
    if (waited.durable) return;
    this.metrics.write(op, 'unreplicated');
    const { replicas, timeoutMs } = this.options.durability!;
    const cause =
      waited.waitError === undefined
        ? undefined
        : (this.connection.notePermission('orderbook', waited.waitError) ?? waited.waitError);
    throw new OrderBookDurabilityError(
      symbol,
      op,
      waited.acknowledged,
      replicas,
      timeoutMs,
      cause === undefined ? undefined : { cause },
    );
  }

  /** One operation in an `orderbook <operation>` span (see orderbook.tracing.ts). */
  private traced<R>(
    operation: OrderBookOperation,
    symbol: string,
    run: () => Promise<R>,
    describe: (span: RedkitSpan, result: R) => void,
    depth?: number,
  ): Promise<R> {
    this.spanAttributes ??= redisSpanAttributes(this.connection);
    return traceBookOperation(this.spanAttributes, operation, symbol, run, describe, depth);
  }

  /**
   * One consistent view of the top `depth` levels: the top string the writers keep (one GET) when it
   * holds at least `depth` levels, else the read script over the sorted sets.
   */
  private async read(book: BookEntry, depth: number): Promise<string | null> {
    try {
      if (depth <= this.options.topDepth) {
        const top = await this.client.get(book.keys[3]);
        if (top !== null && depth <= Number(top.slice(0, top.indexOf('|')))) return top;
      }
      return await readBookScript.run(this.client, book.scriptKeys, [depth]);
    } catch (error) {
      throw this.connection.notePermission('orderbook', error) ?? error;
    }
  }

  /**
   * Parses a read's reply. With `reuseParsedReads`, a reply equal to the book's last one at the same
   * depth (the book has not changed) reuses that parse: fresh snapshot object and arrays, shared
   * frozen level objects. Equal replies are the same state, so this never mixes states.
   */
  private parse(book: BookEntry, symbol: string, reply: string, depth: number): OrderBookSnapshot {
    if (!this.options.reuseParsedReads) return parseBook(symbol, reply, depth, false);
    let snapshot = book.lastSnapshot;
    if (snapshot === undefined || book.lastDepth !== depth || book.lastReply !== reply) {
      snapshot = parseBook(symbol, reply, depth, true);
      book.lastReply = reply;
      book.lastDepth = depth;
      book.lastSnapshot = snapshot;
    }
    return { ...snapshot, bids: snapshot.bids.slice(), asks: snapshot.asks.slice() };
  }

  /** The keys and grid of `symbol`, memoised; throws for an invalid or unknown symbol. */
  private book(symbol: string): BookEntry {
    const known = this.books.get(symbol);
    if (known !== undefined) return known;
    if (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
      throw new OrderBookValidationError(
        'symbol',
        `must be a string of 1-${MAX_SYMBOL_LENGTH} characters, got ${typeof symbol === 'string' ? JSON.stringify(symbol) : typeof symbol}`,
      );
    }
    const grid = this.options.symbols.get(symbol) ?? this.options.defaultSymbol;
    if (grid === undefined) throw new UnknownSymbolError(symbol);
    const bids = this.keys.tagged(symbol, 'bids');
    const asks = this.keys.tagged(symbol, 'asks');
    const meta = this.keys.tagged(symbol, 'meta');
    const entry: BookEntry = {
      keys: [bids, asks, meta, this.keys.tagged(symbol, 'top')],
      scriptKeys: [bids, asks, meta],
      grid,
    };
    if (this.books.size >= SYMBOL_MEMO_LIMIT) this.books.clear();
    this.books.set(symbol, entry);
    return entry;
  }

  private checkWrite(write: OrderBookWrite): void {
    if (typeof write !== 'object' || write === null) {
      throw new OrderBookValidationError('book', 'must be an object { sequence, bids, asks }');
    }
    const { sequence } = write;
    if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
      throw new OrderBookValidationError(
        'sequence',
        `must be a whole number from 0 to 2^53 - 1, got ${typeof sequence === 'number' ? sequence : typeof sequence}`,
      );
    }
  }

  /** Counts a write refused before reaching Redis and hands the error back to throw. */
  private refused(op: OrderBookWriteOp, error: unknown): unknown {
    if (error instanceof UnknownSymbolError) this.metrics.write(op, 'unknown_symbol');
    else if (error instanceof CrossedBookError) this.metrics.write(op, 'crossed');
    else if (error instanceof OrderBookError) this.metrics.write(op, 'invalid');
    else this.metrics.write(op, 'error');
    return error;
  }

  private async write(
    op: OrderBookWriteOp,
    symbol: string,
    sequence: number,
    script: RedisScript<string[], WriteReply>,
    keys: readonly string[],
    args: (string | string[])[],
  ): Promise<OrderBookWriteResult> {
    let reply: WriteReply;
    let waited: DurableReply<WriteReply> | undefined;
    try {
      // (The level lists are flattened by ioredis.)
      const flat = args as unknown as string[];
      const { durability } = this.options;
      if (durability === undefined) reply = await script.run(this.client, keys, flat);
      else {
        waited = await runScriptDurably(script, this.client, keys, flat, durability);
        reply = waited.reply;
      }
    } catch (error) {
      this.metrics.write(op, 'error');
      // A refusal for the ACL user: typed, logged once and reported by the connection's health.
      throw this.connection.notePermission('orderbook', error) ?? error;
    }
    if (reply[0] === 'OK') {
      if (waited !== undefined) this.checkReplicated(op, symbol, waited);
      this.metrics.write(op, 'ok');
      this.metrics.sampleLevels(reply[2], reply[3]);
      return { symbol, sequence, bidLevels: reply[2], askLevels: reply[3] };
    }
    this.metrics.write(op, OUTCOMES[reply[0]] ?? 'error');
    switch (reply[0]) {
      case 'STALE':
        throw new StaleSequenceError(symbol, Number(reply[1]), sequence);
      case 'GAP':
        throw new SequenceGapError(symbol, Number(reply[1]), sequence);
      case 'CROSSED':
        throw new CrossedBookError(symbol, reply[1], reply[2]);
      case 'NOT_FOUND':
        throw new BookNotFoundError(symbol);
    }
  }
}

/**
 * `start, end` offsets of the first `depth` comma-separated items of `text` between `from` and `to`
 * (none when that range is empty).
 */
function memberRanges(text: string, from: number, to: number, depth: number): number[] {
  const ranges: number[] = [];
  if (from >= to) return ranges;
  let start = from;
  while (ranges.length < depth * 2) {
    const comma = text.indexOf(',', start);
    if (comma === -1 || comma >= to) {
      ranges.push(start, to);
      break;
    }
    ranges.push(start, comma);
    start = comma + 1;
  }
  return ranges;
}

/** The levels of `ranges` (each `price:quantity`), frozen when they will be shared. */
function levelsOf(text: string, ranges: readonly number[], freeze: boolean): OrderBookLevel[] {
  const levels: OrderBookLevel[] = [];
  for (let index = 0; index < ranges.length; index += 2) {
    const start = ranges[index] as number;
    const end = ranges[index + 1] as number;
    const colon = text.indexOf(':', start);
    const level = { price: text.slice(start, colon), quantity: text.slice(colon + 1, end) };
    levels.push(freeze ? Object.freeze(level) : level);
  }
  return levels;
}

/** Reads the read script's `levels|seq|updatedAt|bids|asks` reply, keeping `depth` levels per side. */
function parseBook(symbol: string, reply: string, depth: number, freeze: boolean): OrderBookSnapshot {
  const first = reply.indexOf('|', reply.indexOf('|') + 1);
  const second = reply.indexOf('|', first + 1);
  const third = reply.indexOf('|', second + 1);
  const bidRanges = memberRanges(reply, second + 1, third, depth);
  const askRanges = memberRanges(reply, third + 1, reply.length, depth);
  const bids = levelsOf(reply, bidRanges, freeze);
  const asks = levelsOf(reply, askRanges, freeze);
  const bestBid = bids[0] ?? null;
  const bestAsk = asks[0] ?? null;
  const both = bestBid !== null && bestAsk !== null;
  return {
    symbol,
    sequence: Number(reply.slice(reply.indexOf('|') + 1, first)),
    updatedAt: Number(reply.slice(first + 1, second)),
    bestBid,
    bestAsk,
    spread: both ? subtractDecimals(bestAsk.price, bestBid.price) : null,
    mid: both ? midpointOfDecimals(bestBid.price, bestAsk.price) : null,
    depth,
    bids,
    asks,
    checksum: bookChecksumOfRanges(reply, bidRanges, askRanges),
  };
}
