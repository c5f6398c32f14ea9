import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { LockOptionsError, type LeaderElector, type LeaderTermWindow } from '@redkit/lock';

import { eventually, sharedTopologies } from '../harness/index.js';
import { deleteKeys, openLocks, uniquePrefix, type LockInstance } from './lock-test-kit.js';

/** Fast timings: lease 1 s, the leader acts until 600 ms after a renewal, everyone looks every 100 ms. */
const FAST = { leaseMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 100 };

interface Recorded {
  elector: LeaderElector;
  elected: number[];
  revoked: LeaderTermWindow[];
  leaders: (string | null)[];
}

describe.each(sharedTopologies)('LeaderElector on %s', (_name, redis) => {
  const keyPrefix = uniquePrefix('leader');
  let locks: LockInstance;
  const running: LeaderElector[] = [];

  beforeAll(async () => {
    locks = await openLocks({ ...redis(), keyPrefix });
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((elector) => elector.stop()));
  });

  afterAll(async () => {
    await deleteKeys(locks.connections[0]!, keyPrefix);
    await locks?.close();
  });

  function elector(name: string, options = FAST): Recorded {
    const recorded: Recorded = { elected: [], revoked: [], leaders: [] } as unknown as Recorded;
    recorded.elector = locks.locks.election(name, {
      ...options,
      onElected: (term) => void recorded.elected.push(term),
      onRevoked: (window) => void recorded.revoked.push(window),
      onNewLeader: (instance) => void recorded.leaders.push(instance),
    });
    running.push(recorded.elector);
    return recorded;
  }

  it('elects exactly one of three, with a term the others learn', async () => {
    const three = [elector('one'), elector('one'), elector('one')];
    await Promise.all(three.map(({ elector }) => elector.start()));
    await eventually(() => expect(three.filter(({ elector }) => elector.isLeader())).toHaveLength(1));
    const leader = three.find(({ elector }) => elector.isLeader())!;
    expect(leader.elected).toHaveLength(1);
    expect(leader.elector.currentTerm).toBe(leader.elected[0]);
    for (const other of three.filter((each) => each !== leader)) {
      await eventually(() => expect(other.leaders.at(-1)).toBe(leader.elector.instance));
      expect(other.elector.status()).toMatchObject({ state: 'follower', leader: leader.elector.instance });
    }
  });

  it('hands over on stop(): a follower wins a larger term long before the lease would have lapsed', async () => {
    const slowLease = { leaseMs: 10_000, renewDeadlineMs: 6_000, retryPeriodMs: 2_000 };
    const a = elector('handover', slowLease);
    await a.elector.start();
    await eventually(() => expect(a.elector.isLeader()).toBe(true));
    const b = elector('handover', slowLease);
    await b.elector.start();
    const signal = a.elector.signal!;
    await a.elector.stop();
    expect(signal.aborted).toBe(true);
    expect(a.revoked).toHaveLength(1);
    // The vacancy notice wakes b at once; without it b would wait for its next period (2 s).
    await eventually(() => expect(b.elector.isLeader()).toBe(true), 1_500);
    expect(b.elected[0]).toBeGreaterThan(a.elected[0]!);
    expect(b.elected[0]).toBeGreaterThan(0);
    expect(a.revoked[0]!.endedBy).toBeLessThanOrEqual(await serverNow());
  });

  it('ends its term locally when its event loop was blocked past the renew deadline, before anyone else leads', async () => {
    const a = elector('blocked');
    await a.elector.start();
    await eventually(() => expect(a.elector.isLeader()).toBe(true));
    const b = elector('blocked');
    await b.elector.start();
    const signal = a.elector.signal!;
    const until = performance.now() + FAST.renewDeadlineMs + 100;
    while (performance.now() < until); // no timer, no renewal can run meanwhile
    // The first thing after the block: leadership is already over, though the lease still stands.
    expect(a.elector.isLeader()).toBe(false);
    expect(signal.aborted).toBe(true);
    // Whoever leads next (b, or a again once the lease lapsed) leads in a later term that began
    // after a's window, read on the server's clock, had closed.
    let next: Recorded | undefined;
    await eventually(() => {
      next = [a, b].find(({ elector }) => elector.isLeader());
      expect(next).toBeDefined();
    });
    expect(next!.elected.at(-1)).toBeGreaterThan(a.elected[0]!);
    expect(a.revoked[0]!.term).toBe(a.elected[0]);
    expect(a.revoked[0]!.endedBy).toBeLessThan(next!.elector.status().since);
  });

  it('ends the term when a renewal finds another value, and starts a new term when it wins again', async () => {
    const a = elector('taken');
    await a.elector.start();
    await eventually(() => expect(a.elector.isLeader()).toBe(true));
    const client = locks.connections[0]!.client;
    const leaseKey = `${keyPrefix}:leader:{taken}:lease`;
    await client.set(leaseKey, '1 someone-else', 'PX', 300);
    await eventually(() => expect(a.revoked).toHaveLength(1));
    expect(a.elector.isLeader()).toBe(false);
    // It never wrote the lease back: the other value stays until it lapses.
    expect(await client.get(leaseKey)).toBe('1 someone-else');
    await eventually(() => expect(a.elector.isLeader()).toBe(true), 5_000);
    expect(a.elected).toHaveLength(2);
    expect(a.elected[1]).toBeGreaterThan(a.elected[0]!);
  });

  it('keeps terms strictly increasing and leadership windows apart over 100 forced hand-overs', async () => {
    const windows: LeaderTermWindow[] = [];
    const pool = [elector('churn'), elector('churn')];
    await Promise.all(pool.map(({ elector }) => elector.start()));
    for (let round = 0; round < 100; round += 1) {
      let leader: Recorded | undefined;
      await eventually(() => {
        leader = pool.find(({ elector }) => elector.isLeader());
        expect(leader).toBeDefined();
      });
      await leader!.elector.stop();
      windows.push(...leader!.revoked);
      pool.splice(pool.indexOf(leader!), 1);
      const fresh = elector('churn');
      await fresh.elector.start();
      pool.push(fresh);
    }
    const terms = windows.map((window) => window.term);
    expect(terms).toEqual([...terms].sort((x, y) => x - y));
    expect(new Set(terms).size).toBe(100);
    const overlaps = windows.filter(
      (window, index) => index > 0 && window.startedAt < windows[index - 1]!.endedBy,
    );
    expect(overlaps).toEqual([]);
  }, 60_000);

  it('refuses timings that break leaseMs > renewDeadlineMs > 1.2 × retryPeriodMs, naming the option', () => {
    expect(() => locks.locks.election('bad', { leaseMs: 1_000, renewDeadlineMs: 1_000 })).toThrow(
      LockOptionsError,
    );
    expect(() => locks.locks.election('bad', { leaseMs: 1_000, renewDeadlineMs: 1_000 })).toThrow(/leaseMs/);
    expect(() =>
      locks.locks.election('bad', { leaseMs: 3_000, renewDeadlineMs: 1_100, retryPeriodMs: 1_000 }),
    ).toThrow(/renewDeadlineMs/);
    expect(() => locks.locks.election('bad', { retryPeriodMs: 0 })).toThrow(/retryPeriodMs/);
  });

  async function serverNow(): Promise<number> {
    const [seconds, micros] = await locks.connections[0]!.client.time();
    return Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
  }
});
