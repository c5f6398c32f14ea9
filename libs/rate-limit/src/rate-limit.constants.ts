/** Injection token of the options given to `RateLimitModule.forRoot`. */
export const RATE_LIMIT_MODULE_OPTIONS = 'REDKIT:RATE_LIMIT:MODULE_OPTIONS';

/** Method and class metadata written by `@RateLimit`: every limit declared there, in source order. */
export const RATE_LIMIT_METADATA = 'REDKIT:RATE_LIMIT:LIMITS';

/** Method and class metadata written by `@SkipRateLimit`: `true` (all limits) or the names skipped. */
export const SKIP_RATE_LIMIT_METADATA = 'REDKIT:RATE_LIMIT:SKIP';

/** The keyspace module name: keys read `<prefix>:rate-limit:{<identity>}:<limit name>:<l|c>`. */
export const RATE_LIMIT_KEYSPACE = 'rate-limit';

/** Most limits one check may combine (one script registration per count up to this). */
export const MAX_LIMITS_PER_CHECK = 32;
