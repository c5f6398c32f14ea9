/**
 * Who leads, as `@OnEvent(type, { leaderOnly: true })` and `@PollWhileDisconnected({ leaderOnly })`
 * ask it: anything with a synchronous `isLeader()`. `LeaderElectionModule` of @redkit/lock provides
 * its `LeaderElector` under {@link LEADERSHIP}; an app can provide its own (a Kubernetes lease, a
 * static flag) under the same token.
 */
export interface Leadership {
  isLeader(): boolean;
}

/**
 * Injection token of the app's {@link Leadership}. A plain string, so that @redkit/lock can provide
 * it without either lib importing the other (lock's `LEADERSHIP_TOKEN` is the same string).
 */
export const LEADERSHIP = 'redkit:leadership';
