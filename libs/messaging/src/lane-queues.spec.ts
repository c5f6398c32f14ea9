import { describe, expect, it } from '@jest/globals';

import { LaneQueues, type WaitingEntry } from './lane-queues.js';
import { LaneScheduler } from './lane-scheduler.js';

const entry = (id: string, since = 0): WaitingEntry => ({ id, since });

describe('LaneQueues', () => {
  it('hands out each lane in arrival order, lanes as the scheduler picks them', () => {
    const queues = new LaneQueues(new LaneScheduler());
    queues.push(3, entry('1-0'));
    queues.push(3, entry('2-0'));
    queues.push(0, entry('1-0'));
    expect(queues.size).toBe(3);
    const order = [queues.next(), queues.next(), queues.next()].map((next) => [next?.lane, next?.entry.id]);
    expect(order).toEqual([
      [0, '1-0'],
      [3, '1-0'],
      [3, '2-0'],
    ]);
    expect(queues.next()).toBeUndefined();
    expect(queues.size).toBe(0);
  });

  it('holds an entry, per lane, from push until release', () => {
    const queues = new LaneQueues(new LaneScheduler());
    queues.push(1, entry('5-0'));
    expect(queues.holds(1, '5-0')).toBe(true);
    expect(queues.holds(2, '5-0')).toBe(false);
    queues.next();
    expect(queues.holds(1, '5-0')).toBe(true);
    queues.release(1, '5-0');
    expect(queues.holds(1, '5-0')).toBe(false);
  });

  it('finds the entries waiting since a time, and drops the ones given', () => {
    const queues = new LaneQueues(new LaneScheduler());
    const old = entry('1-0', 10);
    const fresh = entry('2-0', 500);
    queues.push(2, old);
    queues.push(2, fresh);
    expect(queues.waitingSince(2, 100)).toEqual([old]);
    queues.drop(2, new Set([old]));
    expect(queues.length(2)).toBe(1);
    expect(queues.holds(2, '1-0')).toBe(false);
    expect(queues.next()?.entry).toBe(fresh);
    queues.drop(2, new Set([fresh]));
    expect(queues.size).toBe(0);
    expect(queues.holds(2, '2-0')).toBe(true);
  });
});
