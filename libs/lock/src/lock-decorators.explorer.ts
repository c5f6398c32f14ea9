import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { RedkitLogger } from '@redkit/redis';

import { LockOptionsError } from './lock.errors.js';
import {
  WITH_LOCK_METADATA,
  WITH_READ_WRITE_LOCK_METADATA,
  WITH_SEMAPHORE_METADATA,
} from './lock.constants.js';
import { LockService } from './lock.service.js';
import { compileResourceTemplate, type ResourceTemplate } from './resource-template.js';
import type { Semaphore } from './semaphore.js';
import type { WithLockOptions } from './with-lock.decorator.js';
import type { ReadWriteLockMetadata } from './with-read-write-lock.decorator.js';
import type { WithSemaphoreOptions } from './with-semaphore.decorator.js';

type Method = (...args: unknown[]) => unknown;

/** Runs `call` (the method with its arguments) holding what a decorator asks for. */
type Guard = (args: unknown[], call: () => unknown) => Promise<unknown>;

/** One of the module's method decorators: its metadata, and the guard it makes of its options. */
interface Decoration {
  metadata: string;
  label: string;
  guard(locks: LockService, options: never): Guard;
}

/** Objects a decorated method keeps by name: at most this many (oldest dropped first). */
const MAX_OBJECTS_PER_METHOD = 1_000;

/** `make(name)` once per name, kept for later calls (bounded, for templated names). */
function perName<T>(make: (name: string) => T): (name: string) => T {
  const made = new Map<string, T>();
  return (name) => {
    let found = made.get(name);
    if (found === undefined) {
      found = make(name);
      made.set(name, found);
      if (made.size > MAX_OBJECTS_PER_METHOD) made.delete(made.keys().next().value!);
    }
    return found;
  };
}

/** Outermost first, when one method carries several. */
const DECORATIONS: Decoration[] = [
  {
    metadata: WITH_SEMAPHORE_METADATA,
    label: '@WithSemaphore',
    guard(locks, options: WithSemaphoreOptions) {
      const { semaphore, permits = 1, ttlMs, maxWaitMs, ...shape } = options;
      const nameOf = compileName(semaphore);
      // Validates the options now, naming a bad one, and serves a fixed name from then on.
      const checked = locks.semaphore(typeof semaphore === 'string' ? semaphore : 'check', shape);
      if (!Number.isInteger(permits) || permits < 1 || permits > checked.limit) {
        throw new LockOptionsError('permits', `must be a whole number from 1 to limit (${checked.limit})`);
      }
      // One object per name, so that its calls hand permits to each other in-process.
      const semaphoreOf = perName((name): Semaphore =>
        name === checked.name ? checked : locks.semaphore(name, shape),
      );
      return (args, call) => semaphoreOf(nameOf(args)).using(call, { permits, ttlMs, maxWaitMs });
    },
  },
  {
    metadata: WITH_READ_WRITE_LOCK_METADATA,
    label: '@WithReadLock / @WithWriteLock',
    guard(locks, options: ReadWriteLockMetadata) {
      const { resource, mode, ...timings } = options;
      const nameOf = compileName(resource);
      locks.readWriteLock('check', timings);
      const lockOf = perName((name) => locks.readWriteLock(name, timings));
      return (args, call) => {
        const lock = lockOf(nameOf(args));
        return mode === 'write' ? lock.write(call) : lock.read(call);
      };
    },
  },
  {
    metadata: WITH_LOCK_METADATA,
    label: '@WithLock',
    guard(locks, options: WithLockOptions) {
      const { resource, ...acquireOptions } = options;
      const nameOf = compileName(resource);
      return (args, call) => locks.using(nameOf(args), call, acquireOptions);
    },
  },
];

function compileName(name: string | ((...args: never[]) => string)): ResourceTemplate {
  return typeof name === 'function'
    ? (args) => (name as (...values: unknown[]) => string)(...args)
    : compileResourceTemplate(name);
}

/** Wrappers this module installed, never wrapped again. */
const installed = new WeakSet<object>();

/**
 * Applies `@WithLock`, `@WithSemaphore`, `@WithReadLock` and `@WithWriteLock`: at module init,
 * every method of a singleton provider that carries one is replaced, on the instance, by a wrapper
 * that runs the original holding the lock, permits or lease (`using`, `read`, `write`: acquired
 * before, extended while it runs, released after). Names are compiled and options checked once per
 * method; a bad option fails startup, naming the method and the option.
 */
@Injectable()
export class LockDecoratorsExplorer implements OnModuleInit {
  private readonly logger = new RedkitLogger('LockDecorators');

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
        const found = DECORATIONS.flatMap((decoration) => {
          const options = this.reflector.get<unknown>(decoration.metadata, declared);
          return options === undefined ? [] : [{ decoration, options }];
        });
        if (found.length === 0) continue;
        const where = `${instance.constructor.name}.${name}`;
        if (!wrapper.isDependencyTreeStatic()) {
          this.logger.warn(
            `${found.map(({ decoration }) => decoration.label).join(', ')} on ${where} skipped: not a singleton provider`,
          );
          continue;
        }
        // Innermost first: the last decoration's guard runs closest to the method.
        let guarded = current as Method;
        for (const { decoration, options } of found.reverse()) {
          guarded = this.wrap(name, guarded, this.guardOf(decoration, options, where));
        }
        (instance as Record<string, unknown>)[name] = guarded;
      }
    }
  }

  private guardOf(decoration: Decoration, options: unknown, where: string): Guard {
    const at = `${decoration.label} on ${where}`;
    if (typeof options !== 'object' || options === null)
      throw new LockOptionsError('options', 'must be an object', at);
    try {
      return decoration.guard(this.locks, options as never);
    } catch (error) {
      if (error instanceof LockOptionsError) throw new LockOptionsError(error.option, error.reason, at);
      throw error;
    }
  }

  private wrap(name: string, method: Method, guard: Guard): Method {
    const wrapped = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      return guard(args, () => method.apply(this, args));
    };
    installed.add(wrapped);
    Object.defineProperty(wrapped, 'name', { value: name });
    // Explorers that run later (the cache's) still find their decorators' metadata on the wrapper.
    for (const key of Reflect.getOwnMetadataKeys(method)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), wrapped);
    }
    return wrapped;
  }
}
