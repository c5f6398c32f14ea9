import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import type { OrderBookLadder } from './console-api.types.js';
import { CONSOLE_CONNECTION } from './console.constants.js';
import { ConsolePeers, type OrderBookStoreLike } from './console-peers.js';
import { decodeKeyPart, ResumableScan } from './key-scan.js';
import { asHttpError } from './redis-unavailable.js';
import { SecondCache } from './second-cache.js';

/** SCAN calls one listing may spend finding books; the next listing goes on from there. */
const SCAN_BUDGET = 20;
/** Symbols listed at most. */
const MAX_SYMBOLS = 1_000;

/**
 * The order-book ladder: a book's top levels from `OrderBookStore.getSnapshot` (one consistent
 * read), and the symbols that have a book, found by a SCAN of the order-book keyspace spread over
 * listings (`SCAN_BUDGET` calls each) rather than walked whole at once.
 */
@Injectable()
export class OrderBookView {
  private scan?: ResumableScan;
  private readonly symbols = new Map<string, number>();
  private readonly cache = new SecondCache(1_000);
  private advancing: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
  ) {}

  listSymbols(): Promise<{ symbols: string[] }> {
    this.requireStore();
    return this.cache.get('symbols', async () => {
      const advance = this.advancing.then(() => this.advance());
      this.advancing = advance.catch(() => undefined);
      try {
        await advance;
      } catch (error) {
        throw asHttpError(this.connection, error, 'the order-book list');
      }
      return { symbols: [...this.symbols.keys()].sort() };
    });
  }

  async ladder(symbol: string, depth: number): Promise<OrderBookLadder> {
    const store = this.requireStore();
    let snapshot: Awaited<ReturnType<OrderBookStoreLike['getSnapshot']>>;
    try {
      snapshot = await store.getSnapshot(symbol, depth);
    } catch (error) {
      if (error instanceof Error && error.name === 'UnknownSymbolError')
        throw new NotFoundException(error.message);
      if (error instanceof Error && error.name === 'OrderBookValidationError') {
        throw new BadRequestException(`symbol: ${error.message}`);
      }
      throw asHttpError(this.connection, error, `the book of "${symbol}"`);
    }
    if (snapshot === null) throw new NotFoundException(`no book for "${symbol}"`);
    return {
      symbol: snapshot.symbol,
      sequence: snapshot.sequence,
      bids: snapshot.bids.map(({ price, quantity }) => ({ price, quantity })),
      asks: snapshot.asks.map(({ price, quantity }) => ({ price, quantity })),
      updatedAt: snapshot.updatedAt,
    };
  }

  /** A book's sequence and last write (one GET of its top), or null without a book. */
  async top(symbol: string): Promise<{ symbol: string; sequence: number; updatedAt: number } | null> {
    const top = await this.requireStore().getTop(symbol);
    return top === null ? null : { symbol: top.symbol, sequence: top.sequence, updatedAt: top.updatedAt };
  }

  private async advance(): Promise<void> {
    const base = this.connection.keyspace('orderbook').base;
    const suffix = '}:meta';
    this.scan ??= new ResumableScan(this.connection.client, `${base}{*${suffix}`);
    const pass = this.scan.passes;
    const { keys, passCompleted } = await this.scan.advance(SCAN_BUDGET);
    for (const key of keys) {
      if (!key.startsWith(`${base}{`) || !key.endsWith(suffix)) continue;
      const symbol = decodeKeyPart(key.slice(base.length + 1, -suffix.length));
      if (this.symbols.has(symbol) || this.symbols.size < MAX_SYMBOLS) this.symbols.set(symbol, pass);
    }
    if (passCompleted)
      for (const [symbol, seen] of this.symbols) if (seen < pass) this.symbols.delete(symbol);
  }

  private requireStore(): OrderBookStoreLike {
    const store = this.peers.orderbook;
    if (store === undefined)
      throw new NotFoundException('the order-book view needs @redkit/orderbook (OrderBookModule) in the app');
    return store;
  }
}
