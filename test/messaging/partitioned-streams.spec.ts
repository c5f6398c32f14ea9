import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  MessagingModule,
  MessagingOptionsError,
  PartitionedStreamConsumer,
  StreamConsumers,
  StreamHandler,
  StreamInspector,
  StreamProducer,
  partitionOf,
  type PartitionedStream,
  type PartitionedStreamConsumerOptions,
  type StreamMessage,
} from '@redkit/messaging';
import { MetricsModule, MetricsService } from '@redkit/metrics';
import { RedisModule, type RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';

import {
  eventually,
  killWorkersAndDeleteKeys,
  messageFrom,
  sharedAclCredentials,
  sharedClusterNodes,
  workerOutput,
} from '../harness/index.js';
import { metricValue, open, sleep, uniquePrefix } from './messaging-test-kit.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/partitioned-consumer.worker.mjs', import.meta.url));

/** The module options of the shared 3-master cluster, as the modules under test connect. */
const cluster = () => ({ cluster: { nodes: sharedClusterNodes() }, ...sharedAclCredentials() });

interface Handled {
  member: string;
  stream: string;
  key: string;
  seq: number;
}

/** Each key's sequence numbers in the order they were first handled, and the entries handled again. */
function firstHandlings(handled: readonly Handled[]): {
  firsts: Map<string, number[]>;
  again: Array<{ first: Handled; again: Handled; index: number }>;
} {
  const firsts = new Map<string, number[]>();
  const seen = new Map<string, Handled>();
  const again: Array<{ first: Handled; again: Handled; index: number }> = [];
  handled.forEach((entry, index) => {
    const id = `${entry.key} ${entry.seq}`;
    const first = seen.get(id);
    if (first !== undefined) {
      again.push({ first, again: entry, index });
      return;
    }
    seen.set(id, entry);
    const seqs = firsts.get(entry.key);
    if (seqs === undefined) firsts.set(entry.key, [entry.seq]);
    else seqs.push(entry.seq);
  });
  return { firsts, again };
}

const range = (length: number) => Array.from({ length }, (_, index) => index);

describe('partitioned streams on the 3-master cluster', () => {
  const keyPrefix = uniquePrefix('part');
  const children: ChildProcess[] = [];
  const members: PartitionedStreamConsumer<never>[] = [];
  let connection: RedisConnection;
  let producer: StreamProducer;
  let metrics: MetricsService;

  function member<T>(
    options: Omit<PartitionedStreamConsumerOptions<T>, 'group'> & { group?: string },
  ): PartitionedStreamConsumer<T> {
    const created = new PartitionedStreamConsumer<T>(
      connection,
      { group: 'balancer', leaseMs: 2_000, heartbeatMs: 100, blockMs: 100, ...options },
      { metrics },
    );
    members.push(created as unknown as PartitionedStreamConsumer<never>);
    return created;
  }

  /**
   * Forks `count` worker processes, members `member-<i>` of `group` on `stream`, and starts them;
   * `owned[i]` follows the partitions member i reports.
   */
  async function forkMembers(
    count: number,
    stream: PartitionedStream,
    group: string,
    processedKey: string,
    settings: { leaseMs: number; heartbeatMs: number; claimIdleMs?: number },
  ): Promise<{ members: ChildProcess[]; owned: number[][] }> {
    const options = JSON.stringify({ ...cluster(), keyPrefix });
    const owned: number[][] = range(count).map(() => []);
    const members = range(count).map((index) => {
      const child = fork(
        worker,
        [
          options,
          JSON.stringify(stream),
          group,
          `member-${index}`,
          processedKey,
          String(settings.leaseMs),
          String(settings.heartbeatMs),
          String(settings.claimIdleMs ?? 5_000),
        ],
        { cwd: root, stdio: ['ignore', workerOutput, workerOutput, 'ipc'] },
      );
      child.on('message', (message: { owned?: number[] }) => {
        if (message.owned !== undefined) owned[index] = message.owned;
      });
      children.push(child);
      return child;
    });
    await Promise.all(members.map((child) => messageFrom(child, (message) => message === 'ready')));
    for (const child of members) child.send('go');
    return { members, owned };
  }

  /** What the workers recorded in `processedKey`, in the order they handled it. */
  async function handledIn(processedKey: string): Promise<Array<Handled & { at: number }>> {
    return (await connection.client.lrange(processedKey, 0, -1)).map((line) => {
      const [member, stream, key, seq, at] = line.split(' ') as [string, string, string, string, string];
      return { member, stream, key, seq: Number(seq), at: Number(at) };
    });
  }

  /** Stops forked members gracefully; resolves with what each reported. */
  function stopMembers(members: ChildProcess[]): Promise<Array<{ takeovers: Record<string, number> }>> {
    const reports = members.map((child) =>
      messageFrom<{ takeovers: Record<string, number> }>(
        child,
        (message) => typeof message === 'object' && message !== null && 'stopped' in message,
      ),
    );
    for (const child of members) child.send('stop');
    return Promise.all(reports);
  }

  beforeAll(async () => {
    connection = await open(cluster(), keyPrefix);
    metrics = new MetricsService();
    producer = new StreamProducer(connection, { streamMaxLen: 0 }, metrics);
  });

  afterEach(async () => {
    await Promise.all(members.splice(0).map((started) => started.stop()));
  });

  afterAll(async () => {
    await connection.close();
    await killWorkersAndDeleteKeys(children, cluster(), keyPrefix);
  });

  it('puts the partitions of a stream on different shards, each key always in the same partition', async () => {
    const orders: PartitionedStream = { name: 'orders', partitions: 6 };
    // The servers' own `default` user, for CLUSTER commands the modules never send.
    const admin = new Redis(sharedClusterNodes()[0] as { host: string; port: number });
    try {
      const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const shards = new Set<number>();
      for (const partition of range(6)) {
        const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', producer.keyOf(`orders#${partition}`)));
        shards.add(slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1] as number);
      }
      expect(shards.size).toBe(3);
    } finally {
      admin.disconnect();
    }
    const ids = await Promise.all(
      ['a', 'b', 'a', 'a'].map((key, n) =>
        producer.publish(orders, 'order.placed', { key, n }, { partitionKey: `account-${key}` }),
      ),
    );
    const partitionA = producer.keyOf(`orders#${partitionOf('account-a', 6)}`);
    const entries = await connection.client.xrange(partitionA, '-', '+');
    expect(entries.filter(([id]) => ids.includes(id)).map(([, fields]) => fields[3])).toEqual(
      expect.arrayContaining(['{"key":"a","n":0}', '{"key":"a","n":2}', '{"key":"a","n":3}']),
    );
    await expect(producer.publish(orders, 'order.placed', {})).rejects.toThrow(
      new MessagingOptionsError(
        'partitionKey',
        'is required to publish to the partitioned stream "orders" (a string: the entries of one key keep their order), got undefined',
      ),
    );
  });

  it('refuses bad member options at construction, naming the option', () => {
    const handler = () => undefined;
    const stream = { name: 'orders', partitions: 6 };
    const create = (options: Partial<PartitionedStreamConsumerOptions>) => () =>
      new PartitionedStreamConsumer(connection, { stream, group: 'g', handler, ...options });
    expect(create({ concurrency: 8 })).toThrow(/messaging option "concurrency" must be 1 \(or unset\)/);
    expect(create({ leaseMs: 1_000, heartbeatMs: 500 })).toThrow(/messaging option "leaseMs"/);
    expect(create({ stream: { name: 'orders', partitions: 2_000 } })).toThrow(/"stream\.partitions"/);
    expect(create({ stream: 'orders' as unknown as PartitionedStream })).toThrow(/"stream"/);
    expect(create({ retryDelayMs: 6_000, claimIdleMs: 5_000 })).toThrow(/"retryDelayMs"/);
  });

  it('shares the partitions evenly, moves only what a joining or leaving member must, and hands over without a duplicate or a key out of order', async () => {
    const stream: PartitionedStream = { name: 'ledger', partitions: 6 };
    const handled: Handled[] = [];
    const handler = (id: string) => (message: StreamMessage<{ key: string; seq: number }>) =>
      void handled.push({ member: id, stream: message.stream, ...message.data });
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member({ stream, consumer: id, handler: handler(id) })) as [
      PartitionedStreamConsumer,
      PartitionedStreamConsumer,
      PartitionedStreamConsumer,
    ];
    const owned = () => [a, b, c].map((consumer) => consumer.ownedPartitions);
    const balanced = (...counts: number[]) =>
      eventually(() => {
        expect(owned().map((partitions) => partitions.length)).toEqual(counts);
        expect(owned().flat().sort()).toEqual(range(6));
      }, 10_000);

    await a.start();
    expect(a.ownedPartitions).toEqual(range(6));
    let publishing = true;
    const published = (async () => {
      for (let seq = 0; publishing || seq < 20; seq += 1) {
        await Promise.all(
          range(30).map((key) =>
            producer.publish(stream, 'entry', { key: `k${key}`, seq }, { partitionKey: `k${key}` }),
          ),
        );
        await sleep(5);
      }
    })();
    await b.start();
    await balanced(3, 3, 0);
    const before = owned();
    await c.start();
    await balanced(2, 2, 2);
    // Sticky: the members already there only gave partitions away.
    expect(before[0]).toEqual(expect.arrayContaining(a.ownedPartitions));
    expect(before[1]).toEqual(expect.arrayContaining(b.ownedPartitions));
    const kept = owned();
    await eventually(() => expect(handled.some((entry) => entry.member === 'c')).toBe(true));
    await c.stop();
    await balanced(3, 3, 0);
    expect(a.ownedPartitions).toEqual(expect.arrayContaining(kept[0] as number[]));
    expect(b.ownedPartitions).toEqual(expect.arrayContaining(kept[1] as number[]));
    publishing = false;
    await published;

    const total = (
      await Promise.all(range(6).map((index) => connection.client.xlen(producer.keyOf(`ledger#${index}`))))
    ).reduce((sum, length) => sum + length, 0);
    await eventually(() => expect(handled).toHaveLength(total), 10_000);
    const { firsts, again } = firstHandlings(handled);
    expect(again).toEqual([]);
    for (const seqs of firsts.values()) expect(seqs).toEqual(range(seqs.length));
    expect(new Set(handled.map((entry) => entry.member))).toEqual(new Set(['a', 'b', 'c']));
    const series = '{stream="ledger",group="balancer"';
    expect(await metricValue(metrics, `redkit_stream_partitions_owned${series}}`)).toBe(6);
    // 6 + 3 + 2 + 2 takes; a take is counted once its consumer has started, and a member stopped
    // while one of its partitions is still starting (a loaded machine) never counts that one.
    const takeovers = await metricValue(
      metrics,
      `redkit_stream_partition_takeovers_total${series},lease="free"}`,
    );
    expect(takeovers).toBeGreaterThanOrEqual(11);
    expect(takeovers).toBeLessThanOrEqual(13);
    expect(
      await metricValue(metrics, `redkit_stream_partition_takeovers_total${series},lease="expired"}`),
    ).toBe(0);
  }, 30_000);

  it('keeps a member with another partition count waiting until the members of the old count have left', async () => {
    const old = member({
      stream: { name: 'resized', partitions: 2 },
      consumer: 'old',
      handler: () => undefined,
    });
    await old.start();
    const resized = member({
      stream: { name: 'resized', partitions: 3 },
      consumer: 'new',
      handler: () => undefined,
    });
    await resized.start();
    expect(resized.ownedPartitions).toEqual([]);
    expect(old.ownedPartitions).toEqual([0, 1]);
    await old.stop();
    await eventually(() => expect(resized.ownedPartitions).toEqual([0, 1, 2]));
  });

  it('lets @StreamHandler consume a partitioned stream in a Nest application', async () => {
    @Injectable()
    class Ledger {
      readonly booked: Array<{ stream: string; key: string; seq: number }> = [];

      @StreamHandler({ name: 'payments', partitions: 3 }, 'ledger', { leaseMs: 2_000, heartbeatMs: 200 })
      book(message: StreamMessage<{ key: string; seq: number }>): void {
        this.booked.push({ stream: message.stream, ...message.data });
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ ...cluster(), keyPrefix }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        MessagingModule.forRoot(),
      ],
      providers: [Ledger],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const [started] = app.get(StreamConsumers).listPartitioned();
      expect(started?.ownedPartitions).toEqual([0, 1, 2]);
      const payments = { name: 'payments', partitions: 3 };
      for (let seq = 0; seq < 10; seq += 1) {
        await Promise.all(
          ['x', 'y', 'z'].map((key) =>
            producer.publish(payments, 'payment', { key, seq }, { partitionKey: key }),
          ),
        );
      }
      const ledger = app.get(Ledger);
      await eventually(() => expect(ledger.booked).toHaveLength(30));
      for (const key of ['x', 'y', 'z']) {
        const entries = ledger.booked.filter((entry) => entry.key === key);
        expect(entries.map((entry) => entry.seq)).toEqual(range(10));
        expect(new Set(entries.map((entry) => entry.stream))).toEqual(
          new Set([`payments#${partitionOf(key, 3)}`]),
        );
      }
      expect(
        await metricValue(
          app.get(MetricsService),
          'redkit_stream_partitions_owned{stream="payments",group="ledger"}',
        ),
      ).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('loses nothing when a member freezes past its lease (SIGSTOP): the others take its partitions, and what it reads as it wakes is run by their holder, long before claimIdleMs', async () => {
    const stream: PartitionedStream = { name: 'frozen', partitions: 4 };
    const processedKey = `${keyPrefix}:test:frozen`;
    // claimIdleMs far beyond the test: only the holders' checks for stolen entries can recover them.
    const { members, owned } = await forkMembers(2, stream, 'frozen', processedKey, {
      leaseMs: 2_000,
      heartbeatMs: 200,
      claimIdleMs: 600_000,
    });
    await eventually(() => expect(owned.map((partitions) => partitions.length)).toEqual([2, 2]), 20_000);
    // The sticky assignment gives the lowest partitions back to the survivor when the victim
    // returns: freeze the member holding partition 0, so the survivor keeps what it took over.
    const victimIndex = owned.findIndex((partitions) => partitions.includes(0));
    const victim = members[victimIndex] as ChildProcess;
    const victimName = `member-${victimIndex}`;
    const victimPartitions = (owned[victimIndex] as number[]).map((index) => `frozen#${index}`);
    const keys = range(8).map((key) => `key-${key}`);
    let publishing = true;
    let rounds = 0;
    const published = (async () => {
      for (; publishing; rounds += 1) {
        await Promise.all(
          keys.map((key) => producer.publish(stream, 'job', { key, seq: rounds }, { partitionKey: key })),
        );
        await sleep(5);
      }
    })();
    await eventually(async () =>
      expect((await handledIn(processedKey)).some((entry) => entry.member === victimName)).toBe(true),
    );
    victim.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // Frozen past its lease: the survivor handles its partitions meanwhile.
    await eventually(async () => {
      const handled = await handledIn(processedKey);
      const last = handled.findLastIndex((entry) => entry.member === victimName);
      for (const partition of victimPartitions) {
        expect(handled.slice(last + 1).some((entry) => entry.stream === partition)).toBe(true);
      }
    }, 15_000);
    victim.kill('SIGCONT');
    await sleep(1_000);
    publishing = false;
    await published;

    await eventually(
      async () => {
        const { firsts } = firstHandlings(await handledIn(processedKey));
        expect([...firsts.values()].reduce((sum, seqs) => sum + seqs.length, 0)).toBe(rounds * keys.length);
      },
      20_000,
      250,
    );
    // Partition 0 stays with the survivor (it keeps its lowest ones): every entry of it that the
    // victim handled, it had started before it froze. What it read as it woke, it did not run.
    const handled = await handledIn(processedKey);
    expect(
      handled.filter(
        ({ member, stream: partition, at }) =>
          member === victimName && partition === 'frozen#0' && at > stoppedAt,
      ),
    ).toEqual([]);
    await stopMembers(members);
  }, 60_000);

  const ENTRIES = 20_000;
  const KEYS = 200;

  it(`loses none of ${ENTRIES} entries over 6 partitions and keeps each key's order, while a SIGKILLed member's partitions are taken over`, async () => {
    const stream: PartitionedStream = { name: 'work', partitions: 6 };
    const processedKey = `${keyPrefix}:test:processed`;
    const { members, owned } = await forkMembers(3, stream, 'workers', processedKey, {
      leaseMs: 3_000,
      heartbeatMs: 300,
    });
    await eventually(() => {
      expect(owned.map((partitions) => partitions.length)).toEqual([2, 2, 2]);
      expect(owned.flat().sort()).toEqual(range(6));
    }, 20_000);

    const victim = members[0] as ChildProcess;
    const victimPartitions = (owned[0] as number[]).map((index) => `work#${index}`);
    const victimBusy = messageFrom(
      victim,
      (message) => ((message as { handled?: number }).handled ?? 0) >= 1_500,
    );
    const keys = range(KEYS).map((key) => `account-${key}`);
    const published = (async () => {
      // One entry per key at a time, so each key's entries enter their partition in sequence order.
      for (let seq = 0; seq < ENTRIES / KEYS; seq += 1) {
        await Promise.all(
          keys.map((key) => producer.publish(stream, 'job', { key, seq }, { partitionKey: key })),
        );
      }
    })();
    await victimBusy;
    victim.kill('SIGKILL');
    await published;

    const inspector = new StreamInspector(connection);
    await eventually(
      async () => {
        for (const partition of range(6)) {
          const [group] = (await inspector.stats(`work#${partition}`)).groups;
          expect(group).toMatchObject({ pending: 0, lag: 0 });
        }
      },
      45_000,
      250,
    );
    const handled = await handledIn(processedKey);
    const { firsts, again } = firstHandlings(handled);

    // 0 lost, and each key's entries first handled in the order they were published.
    expect([...firsts.values()].reduce((sum, seqs) => sum + seqs.length, 0)).toBe(ENTRIES);
    for (const key of keys) expect(firsts.get(key)).toEqual(range(ENTRIES / KEYS));

    // The survivors handled the victim's partitions, and only after the victim's last entry there.
    for (const partition of victimPartitions) {
      const last = handled.findLastIndex(
        (entry) => entry.stream === partition && entry.member === 'member-0',
      );
      const survivors = handled.flatMap((entry, index) =>
        entry.stream === partition && entry.member !== 'member-0' ? [index] : [],
      );
      expect(survivors.length).toBeGreaterThan(0);
      expect(Math.min(...survivors)).toBeGreaterThan(last);
    }
    // Handled twice only when the victim was handling it (unacknowledged) as it died: the last
    // entries it handled on its partitions, each run again once by a survivor.
    for (const { first, again: next } of again) {
      expect(first.member).toBe('member-0');
      expect(next.member).not.toBe('member-0');
    }
    expect(new Set(again.map(({ first }) => `${first.key} ${first.seq}`)).size).toBe(again.length);
    for (const partition of victimPartitions) {
      const victimThere = handled.filter(
        (entry) => entry.stream === partition && entry.member === 'member-0',
      );
      const repeated = again.filter(({ first }) => first.stream === partition).map(({ first }) => first);
      expect(victimThere.slice(victimThere.length - repeated.length)).toEqual(repeated);
      // ... and the new holder ran them first, oldest first, before any entry published after them.
      const takenOver = handled.filter((entry) => entry.stream === partition && entry.member !== 'member-0');
      const entryOf = ({ key, seq }: Handled) => `${key} ${seq}`;
      expect(takenOver.slice(0, repeated.length).map(entryOf)).toEqual(repeated.map(entryOf));
    }

    const expired = (await stopMembers(members.slice(1)))
      .map(({ takeovers }) => takeovers['{stream="work",group="workers",lease="expired"}'] ?? 0)
      .reduce((sum, count) => sum + count, 0);
    expect(expired).toBe(victimPartitions.length);
  }, 90_000);
});
