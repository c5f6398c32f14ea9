import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner } from '@nestjs/core';

import { LeaderElector } from './leader-elector.js';
import {
  LEADER_ELECTION_MODULE_OPTIONS,
  LEADER_ELECTION_OPTIONS_TYPE,
  LeaderElectionConfigurableModule,
  type LeaderElectionModuleOptions,
} from './leader-election.module-definition.js';
import { LEADER_ELECTOR, LEADER_ONLY_METADATA, LEADERSHIP_TOKEN } from './lock.constants.js';
import { LockService } from './lock.service.js';

/**
 * Runs the module's election for the app: joins it once the app has bootstrapped (so the leader's
 * work starts in a ready app), leaves it before shutdown (while Redis is still connected, so the
 * lease is handed over at once), and attaches the elector to every singleton provider and
 * controller with `@LeaderOnly()` methods.
 */
@Injectable()
export class LeaderElectionRunner implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly elector: LeaderElector,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
      if (!prototype) continue;
      const marked = this.scanner
        .getAllMethodNames(prototype)
        .some(
          (name) =>
            typeof prototype[name] === 'function' &&
            Reflect.getMetadata(LEADER_ONLY_METADATA, prototype[name] as object) === true,
        );
      if (marked)
        Object.defineProperty(instance, LEADER_ELECTOR, { value: this.elector, configurable: true });
    }
  }

  onApplicationBootstrap(): Promise<void> {
    return this.elector.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.elector.stop();
  }
}

/**
 * One leader election for the app: inject `LeaderElector` (`isLeader()`, `signal`, `status()`),
 * mark methods `@LeaderOnly()`, and (with @redkit/messaging) `@OnEvent(type, { leaderOnly: true })`. Needs `LockModule` (its connection) and `DiscoveryModule`.
 *
 * @example
 * imports: [
 *   RedisModule.forRoot({ url }),
 *   LockModule.forRoot(),
 *   LeaderElectionModule.forRoot({ election: 'scheduler', leaseMs: 15_000 }),
 *   ScheduleModule.forRoot(),
 * ]
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: LeaderElector,
      useFactory: (locks: LockService, options: LeaderElectionModuleOptions) => {
        const { election = 'leader', ...electionOptions } = options;
        return locks.election(election, electionOptions);
      },
      inject: [LockService, LEADER_ELECTION_MODULE_OPTIONS],
    },
    // What @redkit/messaging's leaderOnly handlers ask.
    { provide: LEADERSHIP_TOKEN, useExisting: LeaderElector },
    LeaderElectionRunner,
  ],
  exports: [LeaderElector, LEADERSHIP_TOKEN],
})
export class LeaderElectionModule extends LeaderElectionConfigurableModule {
  /** Every option has a default, so `forRoot()` alone is enough. */
  static override forRoot(options: typeof LEADER_ELECTION_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
