import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';

import { WITH_LOCK_METADATA } from './lock.constants.js';
import { LockService } from './lock.service.js';
import { compileResourceTemplate, type ResourceTemplate } from './resource-template.js';
import type { WithLockOptions } from './with-lock.decorator.js';

type Method = (...args: unknown[]) => unknown;

/** Wrappers this module installed, never wrapped again. */
const installed = new WeakSet<object>();

/**
 * Applies `@WithLock`: at module init, every method of a singleton provider that carries it is
 * replaced, on the instance, by a wrapper that runs the original inside `LockService.using`. The
 * resource template is compiled once per method.
 */
@Injectable()
export class LockDecoratorsExplorer implements OnModuleInit {
  private readonly logger = new Logger('LockDecorators');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly locks: LockService,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
      if (!prototype) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        // The options are on the declared method; what runs is whatever the instance holds now, which
        // another explorer (the cache's, say) may already have wrapped, so the two wrappers compose.
        const declared = prototype[name];
        const current = (instance as Record<string, unknown>)[name];
        if (typeof declared !== 'function' || typeof current !== 'function' || installed.has(current))
          continue;
        const options = this.reflector.get<WithLockOptions | undefined>(WITH_LOCK_METADATA, declared);
        if (options === undefined) continue;
        const method = current;
        if (!wrapper.isDependencyTreeStatic()) {
          this.logger.warn(
            `@WithLock on ${instance.constructor.name}.${name} skipped: not a singleton provider`,
          );
          continue;
        }
        this.wrap(instance as Record<string, unknown>, name, method as Method, options);
      }
    }
  }

  private wrap(
    instance: Record<string, unknown>,
    name: string,
    method: Method,
    options: WithLockOptions,
  ): void {
    const { resource, ...acquireOptions } = options;
    const resourceOf: ResourceTemplate =
      typeof resource === 'function'
        ? (args) => (resource as (...values: unknown[]) => string)(...args)
        : compileResourceTemplate(resource);
    const locks = this.locks;
    const wrapped = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      return locks.using(resourceOf(args), () => method.apply(this, args), acquireOptions);
    };
    installed.add(wrapped);
    Object.defineProperty(wrapped, 'name', { value: name });
    // Explorers that run later (the cache's) still find their decorators' metadata on the wrapper.
    for (const key of Reflect.getOwnMetadataKeys(method)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), wrapped);
    }
    instance[name] = wrapped;
  }
}
