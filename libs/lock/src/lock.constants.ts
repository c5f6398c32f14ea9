/** Method metadata written by `@WithLock`: the options as given. */
export const WITH_LOCK_METADATA = 'REDKIT:LOCK:WITH_LOCK';
