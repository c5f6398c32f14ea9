/** Base class of every error libs/redis throws, so callers can catch them as one family. */
export class RedisKitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option given to `RedisModule` is invalid; the message names the option. Thrown at startup. */
export class RedisOptionsError extends RedisKitError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`RedisModule option "${option}" ${reason}`);
  }
}

/** The connection could not be made ready at startup (unreachable, TLS or authentication failure). */
export class RedisConnectionError extends RedisKitError {
  constructor(
    readonly connection: string,
    readonly target: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Redis connection "${connection}" to ${target} failed: ${reason}`, options);
  }
}

/** A user-supplied part of a key is empty, too long or not a string. */
export class InvalidKeyPartError extends RedisKitError {}

/** A Lua script was called with the wrong number of keys, or its definition is invalid. */
export class RedisScriptError extends RedisKitError {}

/**
 * Redis refused a command for the connection's ACL user: `NOPERM` for a command, a key or a channel,
 * or a script that calls a command the user lacks. Names the module, what was refused and the ACL
 * rule that grants it; `npx redkit acl --check` lists everything a user lacks at once.
 */
export class RedisPermissionError extends RedisKitError {
  constructor(
    /** The redkit module whose command was refused (`cache`, `rate-limit`, ...). */
    readonly module: string,
    /** What was refused: a command (`mget`), or a key or channel. */
    readonly refused: string,
    /** The ACL rule that grants it (`+mget`, `~<keyPrefix>:*`). */
    readonly rule: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${module}: the Redis ACL user may not ${refused}; grant it with "${rule}" (npx redkit acl --check lists all that is missing)`,
      options,
    );
  }
}

/** The `credentials` provider failed, timed out or resolved to something unusable; never carries a secret. */
export class RedisCredentialsError extends RedisKitError {}
