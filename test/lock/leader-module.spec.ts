import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { LeaderElectionModule, LeaderElector, LeaderOnly, LockModule } from '@redkit/lock';
import { EventBus, MessagingModule, OnEvent, type EventEnvelope } from '@redkit/messaging';
import { getRedisConnectionToken, RedisModule, type RedisConnection } from '@redkit/redis';

import { eventually, sharedRedisUrl } from '../harness/index.js';
import { deleteKeys, sleep, uniquePrefix } from './lock-test-kit.js';

@Injectable()
class Jobs {
  ticks = 0;
  handled: string[] = [];

  // Either order of the decorators composes.
  @LeaderOnly()
  @Interval(20)
  tick(): void {
    this.ticks += 1;
  }

  @OnEvent('job.*')
  @LeaderOnly()
  handle(event: EventEnvelope<{ id: string }>): void {
    this.handled.push(event.data.id);
  }

  @LeaderOnly()
  async report(): Promise<string> {
    return 'reported';
  }
}

describe('LeaderElectionModule with @LeaderOnly', () => {
  const keyPrefix = uniquePrefix('leadermod');
  const apps: INestApplication[] = [];

  async function startApp(): Promise<INestApplication> {
    @Module({
      imports: [
        RedisModule.forRoot({ url: sharedRedisUrl(), keyPrefix }),
        LockModule.forRoot(),
        LeaderElectionModule.forRoot({
          election: 'jobs',
          leaseMs: 1_000,
          renewDeadlineMs: 600,
          retryPeriodMs: 100,
        }),
        ScheduleModule.forRoot(),
        MessagingModule.forRoot(),
      ],
      providers: [Jobs],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.enableShutdownHooks();
    await app.init();
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    await startApp();
    await startApp();
  });

  afterAll(async () => {
    const app = apps[0];
    if (app) await deleteKeys(app.get<RedisConnection>(getRedisConnectionToken()), keyPrefix);
    for (const each of apps) await each.close().catch(() => undefined);
  });

  const leaderOf = () => apps.filter((app) => app.get(LeaderElector).isLeader());

  it('runs @Interval and @OnEvent work on the leader only, and a @LeaderOnly method elsewhere does nothing', async () => {
    await eventually(() => expect(leaderOf()).toHaveLength(1));
    const [leader] = leaderOf();
    const follower = apps.find((app) => app !== leader)!;
    const leaderJobs = leader!.get(Jobs);
    const followerJobs = follower.get(Jobs);
    await eventually(() => expect(leaderJobs.ticks).toBeGreaterThan(3));
    expect(followerJobs.ticks).toBe(0);

    const bus = follower.get(EventBus);
    for (let index = 0; index < 10; index += 1) await bus.publish('job.created', { id: `j${index}` });
    await eventually(() => expect(leaderJobs.handled).toHaveLength(10));
    await sleep(50);
    expect(followerJobs.handled).toEqual([]);
    expect(await leaderJobs.report()).toBe('reported');
    expect(await followerJobs.report()).toBeUndefined();
  });

  it('moves the work to the other instance when the leader shuts down', async () => {
    const [leader] = leaderOf();
    const follower = apps.find((app) => app !== leader)!;
    const before = follower.get(Jobs).ticks;
    await leader!.close();
    apps.splice(apps.indexOf(leader!), 1);
    await eventually(() => expect(follower.get(LeaderElector).isLeader()).toBe(true), 2_000);
    await eventually(() => expect(follower.get(Jobs).ticks).toBeGreaterThan(before + 3));
  });
});
