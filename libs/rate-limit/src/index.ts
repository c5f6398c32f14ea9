export { RateLimitModule } from './rate-limit.module.js';
export {
  RATE_LIMIT_METADATA,
  RATE_LIMIT_MODULE_OPTIONS,
  SKIP_RATE_LIMIT_METADATA,
} from './rate-limit.constants.js';
export {
  RateLimiterService,
  type RateLimitCheck,
  type RateLimitDecision,
  type RateLimitOutcome,
  type RateLimitResult,
  type RateLimitSource,
} from './rate-limiter.service.js';
export type { RateLimitPolicy } from './rate-limit-options.validator.js';
export type {
  RateLimitAlgorithm,
  RateLimitHeaderForm,
  RateLimitInsuranceOptions,
  RateLimitKey,
  RateLimitModuleExtras,
  RateLimitModuleOptions,
  RateLimitOptions,
  RateLimitRule,
  RedisErrorPolicy,
  TrustProxy,
} from './rate-limit-options.interface.js';
export { RateLimit, SkipRateLimit } from './rate-limit.decorator.js';
export { RateLimitGuard } from './rate-limit.guard.js';
export { RateLimitExceededException, type RateLimitExceededBody } from './rate-limit.exception.js';
export { rateLimitHeaders } from './rate-limit-headers.js';
export { clientAddress } from './client-address.js';
export { InMemoryRateLimiter } from './in-memory-rate-limiter.js';
export { RateLimitError, RateLimitOptionsError } from './rate-limit.errors.js';
export { rateLimitAclManifest } from './rate-limit.acl.js';
