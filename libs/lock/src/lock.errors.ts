/** Base class of every error libs/lock throws. */
export class LockError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option given to `LockModule` or to one call is invalid; the message names it. */
export class LockOptionsError extends LockError {
  constructor(
    readonly option: string,
    readonly reason: string,
    /** Where it was given, when not to the module: `@WithSemaphore on Exports.run`. */
    where?: string,
  ) {
    super(
      where === undefined
        ? `LockModule option "${option}" ${reason}`
        : `${where}: option "${option}" ${reason}`,
    );
  }
}

/** Why an acquisition gave up. */
export type LockNotAcquiredReason = 'timeout' | 'retries' | 'aborted' | 'unavailable';

const NOT_ACQUIRED: Record<LockNotAcquiredReason, string> = {
  timeout: 'maxWaitMs passed',
  retries: 'no retries left',
  aborted: 'the signal aborted',
  unavailable: 'Redis could not be reached (or no quorum answered)',
};

/**
 * The lock was not granted: another holder kept it until `maxWaitMs` or the retries ran out, the
 * caller's signal aborted, or Redis (a quorum of servers, in Redlock mode) could not be reached.
 */
export class LockNotAcquiredError extends LockError {
  constructor(
    readonly resource: string,
    /** Attempts made (round trips to Redis, or Redlock rounds). */
    readonly attempts: number,
    readonly reason: LockNotAcquiredReason,
    options?: { cause?: unknown },
  ) {
    super(
      `lock "${resource}" not acquired after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${NOT_ACQUIRED[reason]}`,
      options,
    );
  }
}

/** What a durable write was: an acquisition (lock or semaphore grant), an extension, or a fenced write. */
export type LockDurableOperation = 'acquire' | 'extend' | 'write';

const UNREPLICATED: Record<LockDurableOperation, string> = {
  acquire: 'the grant was released (best effort): the lock is not held',
  extend: 'the extension may stand on the primary, but the lease is counted as not extended',
  write: 'the write may still stand on the primary: treat it as unknown, like a timeout',
};

/**
 * `durability` is on and fewer replicas than asked acknowledged a write within `timeoutMs` (WAIT
 * answered fewer, or failed: then `cause` says why). An acquisition is undone (its grant released,
 * best effort) and fails; an extension leaves the lease's local estimate where it was; a fenced write
 * may stand on the primary and be lost by a failover: the caller must treat it as unknown.
 */
export class LockDurabilityError extends LockError {
  constructor(
    /** The resource (lock, semaphore) or the fenced target the write was for. */
    readonly target: string,
    readonly operation: LockDurableOperation,
    /** Replicas that acknowledged the write. */
    readonly acknowledged: number,
    /** Replicas `durability` asked for. */
    readonly replicas: number,
    timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `${operation} of "${target}" not replicated: ${acknowledged} of ${replicas} replica${replicas === 1 ? '' : 's'} acknowledged within ${timeoutMs} ms; ${UNREPLICATED[operation]}`,
      options,
    );
  }
}

/**
 * A held lock was lost: an extension found another holder (or no key), or the lock expired before an
 * extension could reach Redis. From this moment another holder may own the resource.
 */
export class LockLostError extends LockError {
  constructor(
    readonly resource: string,
    readonly fencingToken: number,
    /** Extension attempts made while holding it. */
    readonly attempts: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`lock "${resource}" (fencing token ${fencingToken}) was lost: ${reason}`, options);
  }
}

/**
 * A fenced write was refused: a holder with a larger fencing token has written to the target since,
 * so this caller's lock was lost (it stalled past its lease and someone else took it). Nothing was
 * written.
 */
export class FencedOutError extends LockError {
  constructor(
    /** What the write was for: the target key, or the name a script's caller gave it. */
    readonly target: string,
    readonly fencingToken: number,
    /** The largest token that has written to the target. */
    readonly highestToken: number,
  ) {
    super(
      `write to "${target}" fenced out: fencing token ${fencingToken} is older than ${highestToken}, which has written since; nothing was written`,
    );
  }
}

/**
 * A holder of a read lease asked for the write lease of the same lock. The writer waits for every
 * reader, this one included, so granting it would never happen: release the read lease first.
 */
export class UpgradeNotSupportedError extends LockError {
  constructor(readonly resource: string) {
    super(
      `read-write lock "${resource}": a reader cannot upgrade to writer (it would wait for itself); release the read lease, then acquire the write lease`,
    );
  }
}
