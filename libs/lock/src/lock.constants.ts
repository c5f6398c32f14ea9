/** Method metadata written by `@WithLock`: the options as given. */
export const WITH_LOCK_METADATA = 'REDKIT:LOCK:WITH_LOCK';

/** Method metadata written by `@LeaderOnly()`. */
export const LEADER_ONLY_METADATA = 'REDKIT:LOCK:LEADER_ONLY';

/** Where `LeaderElectionModule` attaches its elector on instances with `@LeaderOnly()` methods. */
export const LEADER_ELECTOR = Symbol('redkit:leader-elector');

/**
 * The token under which `LeaderElectionModule` also provides its elector: @redkit/messaging's
 * `LEADERSHIP` (the same string; the libs do not import each other), which `@OnEvent(type,
 * { leaderOnly: true })` and `@PollWhileDisconnected({ leaderOnly: true })` ask who leads.
 */
export const LEADERSHIP_TOKEN = 'redkit:leadership';

/** Method metadata written by `@WithSemaphore`: the options as given. */
export const WITH_SEMAPHORE_METADATA = 'REDKIT:LOCK:WITH_SEMAPHORE';

/** Method metadata written by `@WithReadLock` / `@WithWriteLock`: the mode and the options as given. */
export const WITH_READ_WRITE_LOCK_METADATA = 'REDKIT:LOCK:WITH_READ_WRITE_LOCK';
