import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { LEADERSHIP_TOKEN, LeaderElectionModule, LeaderElector, LockModule } from '@redkit/lock';
import {
  EventBus,
  LEADERSHIP,
  MessagingModule,
  MessagingOptionsError,
  OnEvent,
  PollWhileDisconnected,
  type EventEnvelope,
  type MissedWindow,
} from '@redkit/messaging';
import { getRedisConnectionToken, RedisModule, type RedisConnection } from '@redkit/redis';

import { eventually, RedisServer, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, sleep, uniquePrefix } from './lock-test-kit.js';

/** One handling of an order: by which instance, and whether an event or the fallback poll found it. */
interface Handled {
  instance: string;
  id: string;
  via: 'event' | 'poll';
}

const handled: Handled[] = [];
const finalWindows: MissedWindow[] = [];
const INSTANCE = 'test:instance';

/**
 * The recipe of the lock README: orders are written to the source of truth (a sorted set by time)
 * and announced on the bus; only the leader reacts to the announcement, and while the bus is down
 * the leader polls the source of truth for the window it missed.
 */
@Injectable()
class OrderMatcher {
  constructor(
    @Inject(INSTANCE) private readonly instance: string,
    @Inject(getRedisConnectionToken()) private readonly redis: RedisConnection,
  ) {}

  @OnEvent('order.placed', { leaderOnly: true })
  onPlaced(event: EventEnvelope<{ id: string }>): Promise<void> {
    return this.match(event.data.id, 'event');
  }

  @PollWhileDisconnected({ everyMs: 50, leaderOnly: true })
  async catchUp(window: MissedWindow): Promise<void> {
    const ids = await this.redis.client.zrangebyscore(
      this.redis.keyspace('orders').key('placed'),
      window.from.getTime(),
      window.to.getTime(),
    );
    for (const id of ids) await this.match(id, 'poll');
    if (window.final) finalWindows.push(window);
  }

  /** Idempotent, as the recipe asks: windows overlap, and an order may be both announced and polled. */
  private async match(id: string, via: Handled['via']): Promise<void> {
    const first = await this.redis.client.hsetnx(
      this.redis.keyspace('orders').key('matched'),
      id,
      this.instance,
    );
    if (first === 1) handled.push({ instance: this.instance, id, via });
  }
}

describe('leader-only events with a polling fallback, over 3 instances', () => {
  const keyPrefix = uniquePrefix('leaderevents');
  const apps: INestApplication[] = [];
  let busServer: RedisServer;

  async function startApp(instance: string): Promise<INestApplication> {
    @Module({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        // The bus on a server of its own, so that it can go down while the election's stays up.
        RedisModule.forRoot({ name: 'bus', url: busServer.url, keyPrefix, reconnectMaxDelayMs: 100 }),
        LockModule.forRoot(),
        LeaderElectionModule.forRoot({
          election: 'matcher',
          leaseMs: 1_000,
          renewDeadlineMs: 600,
          retryPeriodMs: 100,
        }),
        MessagingModule.forRoot({ connection: 'bus' }),
      ],
      providers: [OrderMatcher, { provide: INSTANCE, useValue: instance }],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    busServer = await RedisServer.start();
    for (const instance of ['i1', 'i2', 'i3']) await startApp(instance);
  });

  afterAll(async () => {
    const app = apps[0];
    if (app) await deleteKeys(app.get<RedisConnection>(getRedisConnectionToken()), keyPrefix);
    for (const each of apps) await each.close().catch(() => undefined);
    await busServer.stop();
  });

  const leaders = () => apps.filter((app) => app.get(LeaderElector).isLeader());
  const instanceOf = (app: INestApplication) => app.get<string>(INSTANCE);

  /**
   * Writes the order to the source of truth, then announces it; answers whether the announcement
   * went out (not while the bus is down).
   */
  async function place(id: string): Promise<boolean> {
    const redis = apps[0]!.get<RedisConnection>(getRedisConnectionToken());
    await redis.client.zadd(redis.keyspace('orders').key('placed'), Date.now(), id);
    return apps[1]!
      .get(EventBus)
      .publish('order.placed', { id })
      .then(
        () => true,
        () => false,
      );
  }

  it('runs each event handler on exactly one instance, the leader', async () => {
    await eventually(() => expect(leaders()).toHaveLength(1));
    const leader = instanceOf(leaders()[0]!);
    expect(apps.every((app) => app.get(EventBus).isListening)).toBe(true);
    const ids = Array.from({ length: 30 }, (_, index) => `live-${index}`);
    for (const id of ids) await place(id);
    await eventually(() => expect(handled).toHaveLength(ids.length));
    await sleep(100);
    expect(handled).toEqual(ids.map((id) => ({ instance: leader, id, via: 'event' })));
  });

  it('while the bus is down, the leader alone polls for the missed work, and covers up to the reconnection', async () => {
    const leader = instanceOf(leaders()[0]!);
    handled.length = 0;
    await busServer.kill();
    await eventually(() => expect(apps.some((app) => app.get(EventBus).isListening)).toBe(false));
    const missed = Array.from({ length: 10 }, (_, index) => `missed-${index}`);
    for (const id of missed) await place(id);
    await eventually(() => expect(handled.map((entry) => entry.id).sort()).toEqual([...missed].sort()));
    expect(new Set(handled.map((entry) => `${entry.instance} ${entry.via}`))).toEqual(
      new Set([`${leader} poll`]),
    );

    // One more while still down, then the bus comes back: the final poll up to the reconnection finds it.
    await place('at-the-end');
    await busServer.restart();
    await eventually(() => expect(apps.every((app) => app.get(EventBus).isListening)).toBe(true), 10_000);
    await eventually(() => expect(finalWindows).toHaveLength(1));
    expect(handled.filter((entry) => entry.id === 'at-the-end')).toHaveLength(1);
    // The publisher's own connection to the bus may reconnect a moment later than the subscribers.
    await eventually(async () =>
      expect(
        await apps[1]!
          .get(EventBus)
          .publish('ready', {})
          .then(() => true),
      ).toBe(true),
    );
    expect(await place('after')).toBe(true);
    await eventually(() =>
      expect(handled.filter((entry) => entry.id === 'after')).toEqual([
        { instance: leader, id: 'after', via: 'event' },
      ]),
    );
    expect(handled).toHaveLength(missed.length + 2);
  });

  it('provides the elector under the token the messaging lib asks for', () => {
    expect(LEADERSHIP_TOKEN).toBe(LEADERSHIP);
    expect(apps[0]!.get(LEADERSHIP_TOKEN)).toBe(apps[0]!.get(LeaderElector));
  });

  it('fails at startup naming the handler when leaderOnly has no election to ask', async () => {
    @Injectable()
    class Lonely {
      @OnEvent('order.placed', { leaderOnly: true })
      onPlaced(): void {}
    }
    @Module({
      imports: [RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }), MessagingModule.forRoot()],
      providers: [Lonely],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const started = app.init();
    await expect(started).rejects.toThrow(MessagingOptionsError);
    await expect(started).rejects.toThrow(/Lonely\.onPlaced.*LeaderElectionModule/);
    await app.close().catch(() => undefined);
  });
});
