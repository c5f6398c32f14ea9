import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';

import { RATE_LIMIT_METADATA } from './rate-limit.constants.js';
import { RateLimitOptionsError } from './rate-limit.errors.js';
import type { RateLimitOptions } from './rate-limit-options.interface.js';
import { validateKey } from './rate-limit-options.validator.js';
import { RateLimiterService } from './rate-limiter.service.js';

/**
 * Checks every `@RateLimit` on the application's controllers at startup, so a bad limit fails the
 * boot naming the controller, the method and the option, instead of failing its route's first
 * request. It compiles each limit the way the guard will (the compiled policy is kept), so the first
 * request pays nothing extra either.
 */
@Injectable()
export class RateLimitDecoratorsValidator implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly limiter: RateLimiterService,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (typeof controller !== 'function') continue;
      this.check(controller.name, controller);
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[name];
        if (typeof method === 'function') this.check(`${controller.name}.${name}`, method);
      }
    }
  }

  private check(where: string, holder: object): void {
    const limits = Reflect.getOwnMetadata(RATE_LIMIT_METADATA, holder) as RateLimitOptions[] | undefined;
    for (const [index, options] of (limits ?? []).entries()) {
      const at = `@RateLimit on ${where} (limit ${options?.name ?? index})`;
      try {
        validateKey(options?.key, `${at}.key`);
        this.limiter.policy(options);
      } catch (error) {
        if (error instanceof RateLimitOptionsError && !error.option.startsWith('@RateLimit on')) {
          throw new RateLimitOptionsError(`${at}: ${error.option}`, error.reason);
        }
        throw error;
      }
    }
  }
}
