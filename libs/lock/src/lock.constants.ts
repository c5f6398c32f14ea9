/** Method metadata written by `@WithLock`: the options as given. */
export const WITH_LOCK_METADATA = 'REDKIT:LOCK:WITH_LOCK';

/** Method metadata written by `@LeaderOnly()`. */
export const LEADER_ONLY_METADATA = 'REDKIT:LOCK:LEADER_ONLY';

/** Where `LeaderElectionModule` attaches its elector on instances with `@LeaderOnly()` methods. */
export const LEADER_ELECTOR = Symbol('redkit:leader-elector');
