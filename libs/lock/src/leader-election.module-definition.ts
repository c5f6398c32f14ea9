import { ConfigurableModuleBuilder } from '@nestjs/common';

import type { LeaderElectionOptions } from './leader-elector.js';

/** What `LeaderElectionModule.forRoot` takes: the election's name and its options. */
export interface LeaderElectionModuleOptions extends LeaderElectionOptions {
  /** The election's name: every instance that should share one leader uses the same. Default `leader`. */
  election?: string;
}

/** Injection token of the options given to `LeaderElectionModule.forRoot`. */
export const LEADER_ELECTION_MODULE_OPTIONS = 'REDKIT:LOCK:LEADER_ELECTION_OPTIONS';

export const {
  ConfigurableModuleClass: LeaderElectionConfigurableModule,
  OPTIONS_TYPE: LEADER_ELECTION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: LEADER_ELECTION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LeaderElectionModuleOptions>({
  moduleName: 'LeaderElection',
  optionsInjectionToken: LEADER_ELECTION_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
