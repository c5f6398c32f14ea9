import { SetMetadata } from '@nestjs/common';

import { RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './rate-limit.constants.js';
import type { RateLimitOptions } from './rate-limit-options.interface.js';

/**
 * Limits a route (on a method) or every route of a controller (on the class). Give several limits
 * in one call or stack the decorator; class, method and the module's global limits all apply and
 * are decided together in one round trip. A method limit with the name of a class or global limit
 * replaces it for that route.
 *
 * @example
 * @RateLimit({ name: 'orders-per-second', limit: 10, windowMs: 1_000 }, { name: 'orders-per-hour', limit: 500, windowMs: 3_600_000 })
 * @Post('orders') place() { ... }
 */
export function RateLimit(...limits: RateLimitOptions[]): MethodDecorator & ClassDecorator {
  const decorator = (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    const holder = descriptor === undefined ? target : (descriptor.value as object);
    const existing =
      (Reflect.getOwnMetadata(RATE_LIMIT_METADATA, holder) as RateLimitOptions[] | undefined) ?? [];
    // Decorators apply bottom-up; prepend so that the metadata lists limits in source order.
    Reflect.defineMetadata(RATE_LIMIT_METADATA, [...limits, ...existing], holder);
  };
  return decorator as MethodDecorator & ClassDecorator;
}

/**
 * Exempts a route or a controller from rate limits: from all of them, or from the named ones.
 *
 * @example
 * @SkipRateLimit() @Get('health') health() { ... }
 */
export function SkipRateLimit(...names: string[]): MethodDecorator & ClassDecorator {
  return SetMetadata(SKIP_RATE_LIMIT_METADATA, names.length === 0 ? true : names);
}
