import { describe, expect, it } from '@jest/globals';

import { TURN_BATCH_WEIGHT, TurnQueue } from './turn-queue.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnQueue', () => {
  it('hands over the items of one event-loop turn together, in order, and the next turn apart', async () => {
    const batches: number[][] = [];
    const queue = new TurnQueue<number>((batch) => batches.push(batch), 100);
    queue.push(1);
    queue.push(2);
    await Promise.resolve().then(() => queue.push(3)); // a microtask of the same turn
    expect(batches).toEqual([]);
    await nextTurn();
    queue.push(4);
    await nextTurn();
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('never lets a batch weigh more than the bound: it flushes before an item would pass it', async () => {
    const batches: string[][] = [];
    const queue = new TurnQueue<string>(
      (batch) => batches.push(batch),
      5,
      (item) => item.length,
    );
    for (const item of ['aa', 'bb', 'cc', 'd', 'eeeee', 'f']) queue.push(item);
    await nextTurn();
    expect(batches).toEqual([['aa', 'bb'], ['cc', 'd'], ['eeeee'], ['f']]);
  });

  it('sends a full batch at once, mid-turn, so it is on the wire while the rest of the turn is gathered', () => {
    const batches: number[][] = [];
    const queue = new TurnQueue<number>((batch) => batches.push(batch));
    for (let item = 0; item < TURN_BATCH_WEIGHT; item += 1) queue.push(item);
    // Synchronously, before the turn ends: one batch of the default weight, nothing waiting.
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(TURN_BATCH_WEIGHT);
    queue.push(TURN_BATCH_WEIGHT);
    expect(batches).toHaveLength(1);
  });
});
