// An in-memory price-time matcher, the reference the Redis engine is checked against: orders
// replayed in id order must give the same trades and the same final book.

export interface ReplayOrder {
  id: bigint;
  side: 'buy' | 'sell';
  /** Integer units (ticks, lots) so nothing is rounded. */
  price: bigint;
  quantity: bigint;
}

export interface ReplayTrade {
  makerOrderId: bigint;
  takerOrderId: bigint;
  price: bigint;
  quantity: bigint;
}

interface Resting {
  id: bigint;
  price: bigint;
  left: bigint;
}

/** Replays orders in the order given; returns the trades and the resting quantity per price and side. */
export function replay(orders: readonly ReplayOrder[]): {
  trades: ReplayTrade[];
  bids: Map<bigint, bigint>;
  asks: Map<bigint, bigint>;
} {
  const bids: Resting[] = [];
  const asks: Resting[] = [];
  const trades: ReplayTrade[] = [];
  for (const order of orders) {
    const opposite = order.side === 'buy' ? asks : bids;
    let left = order.quantity;
    while (left > 0n && opposite.length > 0) {
      const best = opposite[0] as Resting;
      const crosses = order.side === 'buy' ? best.price <= order.price : best.price >= order.price;
      if (!crosses) break;
      const fill = left < best.left ? left : best.left;
      trades.push({ makerOrderId: best.id, takerOrderId: order.id, price: best.price, quantity: fill });
      left -= fill;
      best.left -= fill;
      if (best.left === 0n) opposite.shift();
    }
    if (left > 0n) {
      const own = order.side === 'buy' ? bids : asks;
      own.push({ id: order.id, price: order.price, left });
      // Best price first; equal prices keep arrival (id) order: the sort is stable.
      own.sort((a, b) => {
        if (a.price === b.price) return a.id < b.id ? -1 : 1;
        return (order.side === 'buy' ? a.price > b.price : a.price < b.price) ? -1 : 1;
      });
    }
  }
  const total = (side: Resting[]): Map<bigint, bigint> => {
    const levels = new Map<bigint, bigint>();
    for (const resting of side) levels.set(resting.price, (levels.get(resting.price) ?? 0n) + resting.left);
    return levels;
  };
  return { trades, bids: total(bids), asks: total(asks) };
}
