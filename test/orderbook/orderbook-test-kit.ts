import { MetricsService } from '@redkit/metrics';
import {
  OrderBookStore,
  bookChecksum,
  type OrderBookLevel,
  type OrderBookModuleOptions,
} from '@redkit/orderbook';
import { RedisConnection, type RedisModuleOptions } from '@redkit/redis';

/** A store with its own connection and metrics, as one app instance would have. */
export interface StoreInstance {
  store: OrderBookStore;
  connection: RedisConnection;
  metrics: MetricsService;
  close(): Promise<void>;
}

export async function openStore(
  redis: RedisModuleOptions,
  options: OrderBookModuleOptions,
): Promise<StoreInstance> {
  const connection = await RedisConnection.open('orderbook-test', redis);
  const metrics = new MetricsService();
  const store = new OrderBookStore(connection, options, metrics);
  return { store, connection, metrics, close: () => connection.close() };
}

/**
 * The book as the test believes it is: per side, price in cents -> `price:quantity`, for prices on a
 * 0.01 grid given as normalised decimal strings (cents stay exact as numbers here).
 */
export class BookModel {
  readonly bids = new Map<number, string>();
  readonly asks = new Map<number, string>();

  replace(bids: readonly OrderBookLevel[], asks: readonly OrderBookLevel[]): void {
    this.bids.clear();
    this.asks.clear();
    this.apply(bids, asks);
  }

  apply(bids: readonly OrderBookLevel[], asks: readonly OrderBookLevel[]): void {
    for (const [side, levels] of [
      [this.bids, bids],
      [this.asks, asks],
    ] as const) {
      for (const { price, quantity } of levels) {
        const cents = Math.round(Number(price) * 100);
        if (Number(quantity) === 0) side.delete(cents);
        else side.set(cents, `${price}:${quantity}`);
      }
    }
  }

  /** The checksum of the top `depth` levels, for each of `depths`. */
  checksums(depths: readonly number[]): Map<number, number> {
    const deepest = Math.max(...depths);
    const sorted = (side: Map<number, string>, direction: 1 | -1) =>
      [...side.keys()]
        .sort((a, b) => direction * (a - b))
        .slice(0, deepest)
        .map((cents) => side.get(cents) as string);
    const bids = sorted(this.bids, -1);
    const asks = sorted(this.asks, 1);
    return new Map(depths.map((depth) => [depth, bookChecksum(bids.slice(0, depth), asks.slice(0, depth))]));
  }
}

/** `count` levels from `start` cents stepping by `step` cents, with assorted exact quantities. */
export function levels(count: number, startCents: number, stepCents: number, salt = 0): OrderBookLevel[] {
  return Array.from({ length: count }, (_, index) => {
    const cents = startCents + index * stepCents;
    const price = (cents / 100).toFixed(2).replace(/\.?0+$/, '');
    const quantity = `${(index * 7919 + salt) % 1000}.${String((index * 104729 + salt) % 100_000_000).replace(/0+$/, '') || '1'}`;
    return { price, quantity };
  });
}

export { deleteKeys, metricValue, uniquePrefix } from '../harness/index.js';
