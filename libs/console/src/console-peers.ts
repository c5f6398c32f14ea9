import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';

import type { ConsoleView } from './console-api.types.js';

/**
 * The parts of the optional redkit libs the console uses, typed by their shape rather than imported,
 * so that the console's own types never need a lib the app did not install.
 */
export interface EnvelopeLike {
  type: string;
  time: string;
  source: string;
  data: unknown;
}
export interface StreamConsumersLike {
  list(): ReadonlyArray<{ readonly stream: string }>;
  /** The members of partitioned streams (absent before @redkit/messaging had them). */
  listPartitioned?(): ReadonlyArray<{
    readonly stream: { readonly name: string; readonly partitions: number };
  }>;
}
export interface EventBusLike {
  publish(type: string, data: unknown): Promise<unknown>;
  subscribe(
    pattern: string,
    handler: (event: EnvelopeLike) => unknown,
  ): Promise<{ unsubscribe(): Promise<void> }>;
}
export interface CacheServiceLike {
  readonly l1Usage: { entries: number; bytes: number };
  delete(key: string, options?: { namespace?: string }): Promise<void>;
  deleteByTag(tag: string, options?: { namespace?: string }): Promise<number>;
}
export interface RateLimiterLike {
  /** Added to @redkit/rate-limit with the console; absent from older versions. */
  onRefusal?(listener: (identity: string, limit: string) => void): () => void;
}
interface BookLevelLike {
  price: string;
  quantity: string;
}
interface BookTopLike {
  symbol: string;
  sequence: number;
  updatedAt: number;
}
export interface OrderBookStoreLike {
  getTop(symbol: string): Promise<BookTopLike | null>;
  getSnapshot(
    symbol: string,
    depth: number,
  ): Promise<(BookTopLike & { bids: BookLevelLike[]; asks: BookLevelLike[] }) | null>;
}

/** A class used as an injection token, as the optional libs export them. */
type Token = abstract new (...args: never[]) => unknown;

/**
 * Imports an optional peer package; undefined when it is not installed. Dynamic, so that an app
 * without, say, @redkit/orderbook can still load the console.
 */
async function importOptional(name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * What the app has of the other redkit libs: each one's service when the app imports its module,
 * found once the application's providers exist (`onModuleInit`). The console shows a view only when
 * its lib is there, and never makes a lib required.
 */
@Injectable()
export class ConsolePeers implements OnModuleInit {
  consumers?: StreamConsumersLike;
  bus?: EventBusLike;
  cache?: CacheServiceLike;
  limiter?: RateLimiterLike;
  orderbook?: OrderBookStoreLike;
  hasLocks = false;
  hasMessaging = false;

  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  async onModuleInit(): Promise<void> {
    const [messaging, lock, cache, rateLimit, orderbook] = await Promise.all(
      ['@redkit/messaging', '@redkit/lock', '@redkit/cache', '@redkit/rate-limit', '@redkit/orderbook'].map(
        importOptional,
      ),
    );
    this.consumers = this.find(messaging, 'StreamConsumers');
    this.bus = this.find(messaging, 'EventBus');
    this.hasMessaging = this.consumers !== undefined || this.bus !== undefined;
    this.hasLocks =
      this.find(lock, 'LockService') !== undefined || this.find(lock, 'LeaderElectionRunner') !== undefined;
    this.cache = this.find(cache, 'CacheService');
    this.limiter = this.find(rateLimit, 'RateLimiterService');
    this.orderbook = this.find(orderbook, 'OrderBookStore');
  }

  /** The views this app can show (`redis` always). */
  views(): ConsoleView[] {
    const views: ConsoleView[] = [];
    if (this.hasMessaging) views.push('streams');
    if (this.hasLocks) views.push('locks');
    if (this.limiter !== undefined) views.push('limits');
    if (this.cache !== undefined) views.push('cache');
    if (this.bus !== undefined) views.push('events');
    views.push('redis');
    if (this.orderbook !== undefined) views.push('orderbook');
    return views;
  }

  /** The app's instance of the class `lib` exports as `name`, if the lib is there and the app provides it. */
  private find<T>(lib: Record<string, unknown> | undefined, name: string): T | undefined {
    const token = lib?.[name];
    if (typeof token !== 'function') return undefined;
    try {
      return this.moduleRef.get(token as Token as never, { strict: false }) as T;
    } catch {
      return undefined;
    }
  }
}
