import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HEADERS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ApplicationConfig, DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { setResponseHeader, type HttpResponseLike } from '@redkit/metrics';
import { RedkitLogger } from '@redkit/redis';
import { isObservable, lastValueFrom } from 'rxjs';

import { CACHEABLE_METADATA, CACHE_EVICT_METADATA, CACHE_PUT_METADATA } from './cache.constants.js';
import { CacheDecoratorError, CacheLoaderError } from './cache.errors.js';
import { CACHE_MODULE_OPTIONS } from './cache.module-definition.js';
import { CacheService } from './cache.service.js';
import type { CacheEvictOptions } from './cache-evict.decorator.js';
import { buildArgumentsKey, compileKeyTemplate, type KeyTemplate } from './cache-key.builder.js';
import type { CacheGetOrSetOptions, CacheModuleOptions } from './cache-options.interface.js';
import { DEFAULT_NAMESPACE } from './cache-options.validator.js';
import type { CacheKeyedOptions, CacheTags } from './cacheable.decorator.js';
import { registerCacheRoutes, type CacheRouteCall, type CacheRouteRunner } from './cache-route.js';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A handler's result as a value: the last value of an Observable, the result itself otherwise. */
function settledValue(result: unknown): unknown {
  return isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
}

type TagsOf = (args: readonly unknown[]) => readonly string[];
type Condition = (...args: unknown[]) => boolean;
type Unless = (result: unknown, ...args: unknown[]) => boolean;

/** `@Cacheable` or `@CachePut`, compiled. */
export interface KeyedOperation {
  readonly key: KeyTemplate;
  readonly tags?: TagsOf;
  readonly namespace?: string;
  /** ttlMs, l1TtlMs, graceMs and namespace: built once; per-call tags are added to a copy. */
  readonly options: CacheGetOrSetOptions;
  readonly condition?: Condition;
  readonly unless?: Unless;
}

/** One `@CacheEvict`, compiled. */
interface EvictOperation {
  readonly keys: readonly KeyTemplate[];
  readonly tags?: TagsOf;
  readonly namespace?: string;
  readonly allEntries: boolean;
  readonly condition?: Condition;
}

/** What the cache decorators of one method do, compiled once per class and method. */
export interface CacheOperations {
  /** `<ClassName>.<method>`, for log lines. */
  readonly method: string;
  readonly cacheable?: KeyedOperation;
  readonly put?: KeyedOperation;
  readonly evictions: readonly EvictOperation[];
}

/** A method as the explorer calls it. */
type Method = (...args: unknown[]) => unknown;

/** Wrappers this module installed, in any app of the process: never wrapped again. */
const installedWrappers = new WeakSet<object>();

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * getOrSet wraps what the loader threw; callers of the method expect its own error (an
 * HttpException must stay one). Timeouts (CacheLoaderTimeoutError) are the cache's and stay.
 */
function rethrowLoaderCause(error: unknown): never {
  throw error instanceof CacheLoaderError ? error.cause : error;
}

/** `invoke()` as a promise, whether it returns one, a value, or throws. */
async function invokeAsync(invoke: () => unknown): Promise<unknown> {
  return invoke();
}

/**
 * Applies `@Cacheable`, `@CachePut` and `@CacheEvict`. At module init it finds every singleton
 * provider with decorated methods and replaces each such method, on the instance, with a wrapper that
 * goes through {@link CacheService}; `this` and the instance's injected dependencies are the
 * original's. A wrapper always returns a Promise, also for a synchronous method.
 *
 * Controller instances are left alone: their decorated routes are wrappers installed on the prototype
 * by the decorators (see cache-route.ts), which call {@link runRoute} of the controller's app.
 * Request-scoped and transient providers have no single instance to wrap; they are skipped with a
 * warning. Options are checked here, at startup: a bad one throws {@link CacheDecoratorError}.
 *
 * Methods are wrapped when `CacheModule` initializes, which (as a global module, the default) is
 * before the modules that use it; a module's own `onModuleInit` that runs earlier sees them unwrapped.
 */
@Injectable()
export class CacheDecoratorsExplorer implements OnModuleInit, CacheRouteRunner {
  private readonly logger = new RedkitLogger('CacheDecorators');
  /** Compiled operations by method function, then by class (a subclass gets its own default keys). */
  private readonly compiled = new WeakMap<object, WeakMap<object, CacheOperations | null>>();
  private readonly namespaces: ReadonlySet<string>;
  /** `preserializedHits`: HTTP routes may send an L1 hit as its kept JSON text. */
  readonly preserializedHits: boolean;
  /** Per route (its compiled operations): whether a hit may be sent as its kept JSON text. */
  private readonly jsonHitRoutes = new WeakMap<CacheOperations, boolean>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly cache: CacheService,
    private readonly config: ApplicationConfig,
    @Inject(CACHE_MODULE_OPTIONS) options: CacheModuleOptions | undefined,
  ) {
    this.namespaces = new Set([DEFAULT_NAMESPACE, ...Object.keys(options?.namespaces ?? {})]);
    this.preserializedHits = options?.preserializedHits === true;
  }

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) this.wrapProvider(wrapper);
    // Not wrapped (their routes are, on the prototype), but compiled now so that a bad option fails
    // at startup, not on the first request; and told which app's cache their routes use.
    for (const wrapper of this.discovery.getControllers()) {
      const { metatype } = wrapper;
      if (wrapper.isNotMetatype || typeof metatype !== 'function') continue;
      const instance: unknown = wrapper.instance;
      const singleton = wrapper.isDependencyTreeStatic() && !wrapper.isTransient;
      if (singleton && instance !== null && typeof instance === 'object') {
        registerCacheRoutes(instance, this, false);
      } else {
        registerCacheRoutes(metatype, this, true);
      }
      const prototype = metatype.prototype as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        this.operationsFor(metatype, prototype[name] as object, name);
      }
    }
  }

  /**
   * The compiled operations of `handler` as a method of `classRef`, or undefined when it carries no
   * cache decorator. Compiled on first use and kept.
   */
  operationsFor(
    classRef: { readonly name: string },
    handler: object,
    methodName?: string,
  ): CacheOperations | undefined {
    let byClass = this.compiled.get(handler);
    if (byClass === undefined) {
      byClass = new WeakMap();
      this.compiled.set(handler, byClass);
    }
    let operations = byClass.get(classRef);
    if (operations === undefined) {
      const name = methodName ?? (handler as { name?: string }).name ?? 'anonymous';
      operations = this.compile(classRef.name, name, handler) ?? null;
      byClass.set(classRef, operations);
    }
    return operations ?? undefined;
  }

  /**
   * Runs one HTTP call of a decorated route (`invoke` runs the handler). A `condition` that says no
   * leaves the call alone: the handler's own result, not even a promise around it. A hit with
   * `preserializedHits` answers with the JSON text L1 keeps. Otherwise as {@link execute}, with the
   * handler's result (its Observable's last value) as the method's.
   */
  runRoute(controller: object, handler: object, call: CacheRouteCall, invoke: () => unknown): unknown {
    const operations = this.operationsFor(controller.constructor, handler);
    if (operations === undefined) return invoke();
    const args = call.keyArguments();
    const { cacheable } = operations;
    const only = operations.put === undefined && operations.evictions.length === 0;
    if (cacheable?.condition !== undefined && only && !cacheable.condition(...args)) return invoke();
    if (cacheable !== undefined && only && this.sendsJsonHits(controller, handler, operations)) {
      const json = this.heldJson(cacheable, args);
      if (json !== undefined) {
        setResponseHeader(call.response as HttpResponseLike, 'content-type', JSON_CONTENT_TYPE);
        return json;
      }
    }
    return this.execute(operations, args, () => settledValue(invoke()));
  }

  /**
   * Whether this route may send a hit as JSON text: `preserializedHits` is on, no interceptor runs
   * around the handler (it could map the body, and would get a string), and the route sets no
   * Content-Type of its own. Decided on the route's first call, once the app's global interceptors
   * are all registered.
   */
  private sendsJsonHits(controller: object, handler: object, operations: CacheOperations): boolean {
    let sends = this.jsonHitRoutes.get(operations);
    if (sends === undefined) {
      const interceptors =
        this.config.getGlobalInterceptors().length +
        this.config.getGlobalRequestInterceptors().length +
        ((Reflect.getMetadata(INTERCEPTORS_METADATA, controller.constructor) ?? []) as unknown[]).length +
        ((Reflect.getMetadata(INTERCEPTORS_METADATA, handler) ?? []) as unknown[]).length;
      const headers = (Reflect.getMetadata(HEADERS_METADATA, handler) ?? []) as Array<{ name: string }>;
      sends =
        this.preserializedHits &&
        interceptors === 0 &&
        !headers.some((header) => header.name.toLowerCase() === 'content-type');
      this.jsonHitRoutes.set(operations, sends);
    }
    return sends;
  }

  /**
   * Runs one call of a decorated method: `invoke` runs the method itself. `@Cacheable`: through
   * `getOrSet` (so `invoke` runs only on a miss, once for concurrent callers). Otherwise `invoke` runs,
   * then {@link afterSuccess}. An error of the method is rethrown as it was, not wrapped. A call
   * whose key or tags cannot be built (a placeholder it leaves undefined) runs uncached, with a warning.
   */
  execute(operations: CacheOperations, args: readonly unknown[], invoke: () => unknown): Promise<unknown> {
    const { cacheable } = operations;
    if (cacheable === undefined) return this.runThenAfterSuccess(operations, args, invoke);
    let cached: boolean;
    try {
      cached = cacheable.condition === undefined || cacheable.condition(...args);
    } catch (error) {
      return Promise.reject(error);
    }
    // Not async itself: a hit answers with the cache's own promise, without two more layers.
    return cached
      ? this.readThrough(operations, cacheable, args, invoke)
      : this.runThenAfterSuccess(operations, args, invoke);
  }

  /**
   * The JSON text of the `@Cacheable` value L1 holds for this call, or undefined (not held, not an
   * object, the key cannot be built): see `CacheService.heldJson`. The caller has checked `condition`.
   */
  heldJson(cacheable: KeyedOperation, args: readonly unknown[]): string | undefined {
    let key: string;
    try {
      key = cacheable.key(args);
    } catch {
      // readThrough says why, once the call goes there.
      return undefined;
    }
    return this.cache.heldJson(key, cacheable.namespace);
  }

  private async runThenAfterSuccess(
    operations: CacheOperations,
    args: readonly unknown[],
    invoke: () => unknown,
  ): Promise<unknown> {
    const result = await invoke();
    await this.afterSuccess(operations, args, result);
    return result;
  }

  /**
   * What follows a successful run: the evictions, then the `@CachePut`. Never throws: the method has
   * done its work, so a failure here (Redis unreachable, a key template that does not fit the
   * arguments) is logged.
   */
  async afterSuccess(operations: CacheOperations, args: readonly unknown[], result: unknown): Promise<void> {
    if (operations.evictions.length > 0) {
      await Promise.all(operations.evictions.map((eviction) => this.evict(operations, eviction, args)));
    }
    const { put } = operations;
    if (put === undefined) return;
    let key: string;
    let options: CacheGetOrSetOptions;
    try {
      if (put.condition !== undefined && !put.condition(...args)) return;
      if (put.unless !== undefined && put.unless(result, ...args)) return;
      key = put.key(args);
      options = put.tags === undefined ? put.options : { ...put.options, tags: put.tags(args) };
    } catch (error) {
      this.logger.error(`@CachePut on ${operations.method}: nothing stored: ${errorMessage(error)}`);
      return;
    }
    await this.store(operations, key, result, options);
  }

  private readThrough(
    operations: CacheOperations,
    cacheable: KeyedOperation,
    args: readonly unknown[],
    invoke: () => unknown,
  ): Promise<unknown> {
    let key: string;
    let options: CacheGetOrSetOptions;
    try {
      key = cacheable.key(args);
      options =
        cacheable.tags === undefined
          ? cacheable.options
          : { ...cacheable.options, tags: cacheable.tags(args) };
    } catch (error) {
      // A template placeholder this call leaves undefined (an optional query parameter): the call
      // still deserves an answer, just not a cached one.
      this.logger.warn(`@Cacheable on ${operations.method}: called uncached: ${errorMessage(error)}`);
      return invokeAsync(invoke);
    }
    const { unless } = cacheable;
    let read: Promise<unknown>;
    try {
      read = this.cache.getOrSet(
        key,
        invoke,
        unless === undefined ? options : { ...options, shouldStore: (result) => !unless(result, ...args) },
      );
    } catch (error) {
      return Promise.reject(error);
    }
    return read.catch(rethrowLoaderCause);
  }

  private async store(
    operations: CacheOperations,
    key: string,
    value: unknown,
    options: CacheGetOrSetOptions,
  ): Promise<void> {
    try {
      await this.cache.set(key, value, options);
    } catch (error) {
      this.logger.warn(`${operations.method}: result not cached under "${key}": ${errorMessage(error)}`);
    }
  }

  private async evict(
    operations: CacheOperations,
    eviction: EvictOperation,
    args: readonly unknown[],
  ): Promise<void> {
    const { namespace } = eviction;
    try {
      if (eviction.condition !== undefined && !eviction.condition(...args)) return;
      if (eviction.allEntries) {
        await this.cache.clear(namespace);
        return;
      }
      const tags = eviction.tags?.(args) ?? [];
      await Promise.all([
        ...eviction.keys.map((key) => this.cache.delete(key(args), { namespace })),
        ...tags.map((tag) => this.cache.deleteByTag(tag, { namespace })),
      ]);
    } catch (error) {
      this.logger.error(
        `@CacheEvict on ${operations.method}: eviction failed, entries may stay until their TTL: ${errorMessage(error)}`,
      );
    }
  }

  private wrapProvider(wrapper: InstanceWrapper): void {
    if (wrapper.isAlias) return;
    if (wrapper.isTransient || !wrapper.isDependencyTreeStatic()) {
      const { metatype } = wrapper;
      if (
        !wrapper.isNotMetatype &&
        typeof metatype === 'function' &&
        this.hasDecoratedMethod(metatype.prototype)
      ) {
        this.logger.warn(
          `${metatype.name} is ${wrapper.isTransient ? 'transient' : 'request-scoped'}: its cache decorators are not ` +
            'applied (there is no single instance to wrap); use CacheService in the method instead',
        );
      }
      return;
    }
    const instance: unknown = wrapper.instance;
    if (instance === null || typeof instance !== 'object') return;
    const prototype: unknown = Object.getPrototypeOf(instance);
    if (prototype === null || prototype === Object.prototype) return;
    const methods = instance as Record<string, unknown>;
    for (const name of this.scanner.getAllMethodNames(prototype as object)) {
      const method = methods[name];
      if (typeof method !== 'function' || installedWrappers.has(method)) continue;
      const operations = this.operationsFor(instance.constructor, method, name);
      if (operations !== undefined) this.wrapMethod(instance, name, method as Method, operations);
    }
  }

  private wrapMethod(instance: object, name: string, method: Method, operations: CacheOperations): void {
    const execute = (args: unknown[]) => this.execute(operations, args, () => method.apply(instance, args));
    const wrapped = function (...args: unknown[]): Promise<unknown> {
      return execute(args);
    };
    Object.defineProperty(wrapped, 'name', { value: method.name });
    // Tools that read method metadata from the instance (schedulers, event handlers) still find theirs.
    for (const key of Reflect.getOwnMetadataKeys(method)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), wrapped);
    }
    try {
      Object.defineProperty(instance, name, {
        value: wrapped,
        writable: true,
        configurable: true,
        enumerable: false,
      });
      installedWrappers.add(wrapped);
    } catch (error) {
      this.logger.warn(
        `${operations.method}: cannot be wrapped, its cache decorators are not applied: ${errorMessage(error)}`,
      );
    }
  }

  private hasDecoratedMethod(prototype: object): boolean {
    return this.scanner.getAllMethodNames(prototype).some((name) => {
      const method = (prototype as Record<string, unknown>)[name] as object;
      return (
        Reflect.hasMetadata(CACHEABLE_METADATA, method) ||
        Reflect.hasMetadata(CACHE_PUT_METADATA, method) ||
        Reflect.hasMetadata(CACHE_EVICT_METADATA, method)
      );
    });
  }

  private compile(className: string, methodName: string, handler: object): CacheOperations | undefined {
    const cacheable = Reflect.getMetadata(CACHEABLE_METADATA, handler) as CacheKeyedOptions | undefined;
    const put = Reflect.getMetadata(CACHE_PUT_METADATA, handler) as CacheKeyedOptions | undefined;
    const evictions = (Reflect.getMetadata(CACHE_EVICT_METADATA, handler) ??
      []) as readonly CacheEvictOptions[];
    if (cacheable === undefined && put === undefined && evictions.length === 0) return undefined;
    const method = `${className}.${methodName}`;
    const defaultKeyPrefix = `${method}:`;
    if (cacheable !== undefined && (put !== undefined || evictions.length > 0)) {
      const other = put !== undefined ? '@CachePut' : '@CacheEvict';
      throw new CacheDecoratorError(
        `@Cacheable on ${method}`,
        other,
        `cannot be combined with @Cacheable on one method (on a hit the method does not run)`,
      );
    }
    return {
      method,
      cacheable: cacheable && this.compileKeyed(`@Cacheable on ${method}`, cacheable, defaultKeyPrefix),
      put: put && this.compileKeyed(`@CachePut on ${method}`, put, defaultKeyPrefix),
      evictions: evictions.map((eviction) => this.compileEviction(`@CacheEvict on ${method}`, eviction)),
    };
  }

  private compileKeyed(where: string, options: CacheKeyedOptions, defaultKeyPrefix: string): KeyedOperation {
    if (options.key !== undefined && options.keyFn !== undefined) {
      throw new CacheDecoratorError(where, 'key', 'and "keyFn" cannot both be given');
    }
    let key: KeyTemplate;
    if (options.key !== undefined) key = this.compileTemplate(where, 'key', options.key);
    else if (options.keyFn !== undefined) key = this.compileKeyFunction(where, options.keyFn);
    else key = (args) => defaultKeyPrefix + buildArgumentsKey(args);
    const namespace = this.checkNamespace(where, options.namespace);
    const ttlMs = this.checkDuration(where, 'ttlMs', options.ttlMs, false);
    const l1TtlMs = this.checkDuration(where, 'l1TtlMs', options.l1TtlMs, false);
    const graceMs = this.checkDuration(where, 'graceMs', options.graceMs, true);
    if (ttlMs !== undefined && l1TtlMs !== undefined && l1TtlMs > ttlMs) {
      throw new CacheDecoratorError(where, 'l1TtlMs', `must not exceed ttlMs (${ttlMs}), got ${l1TtlMs}`);
    }
    const cacheOptions: CacheGetOrSetOptions = {};
    if (namespace !== undefined) cacheOptions.namespace = namespace;
    if (ttlMs !== undefined) cacheOptions.ttlMs = ttlMs;
    if (l1TtlMs !== undefined) cacheOptions.l1TtlMs = l1TtlMs;
    if (graceMs !== undefined) cacheOptions.graceMs = graceMs;
    return {
      key,
      tags: this.compileTags(where, options.tags),
      namespace,
      options: cacheOptions,
      condition: this.checkFunction(where, 'condition', options.condition) as Condition | undefined,
      unless: this.checkFunction(where, 'unless', options.unless) as Unless | undefined,
    };
  }

  private compileEviction(where: string, options: CacheEvictOptions): EvictOperation {
    const allEntries = options.allEntries ?? false;
    if (typeof allEntries !== 'boolean')
      throw new CacheDecoratorError(where, 'allEntries', 'must be true or false');
    if (options.keys !== undefined && !Array.isArray(options.keys)) {
      throw new CacheDecoratorError(where, 'keys', 'must be an array of key templates or functions');
    }
    const keys = (options.keys ?? []).map((key, index) =>
      typeof key === 'function'
        ? this.compileKeyFunction(where, key)
        : this.compileTemplate(where, `keys[${index}]`, key),
    );
    const tags = this.compileTags(where, options.tags);
    if (!allEntries && keys.length === 0 && tags === undefined) {
      throw new CacheDecoratorError(
        where,
        'keys',
        'or "tags" or "allEntries" must be given: there is nothing to evict',
      );
    }
    return {
      keys,
      tags,
      namespace: this.checkNamespace(where, options.namespace),
      allEntries,
      condition: this.checkFunction(where, 'condition', options.condition) as Condition | undefined,
    };
  }

  private compileTemplate(where: string, option: string, template: unknown): KeyTemplate {
    if (typeof template !== 'string' || template === '') {
      throw new CacheDecoratorError(
        where,
        option,
        `must be a non-empty key template, got ${String(template)}`,
      );
    }
    try {
      return compileKeyTemplate(template);
    } catch (error) {
      throw new CacheDecoratorError(where, option, errorMessage(error));
    }
  }

  private compileKeyFunction(where: string, keyFn: (...args: never[]) => string): KeyTemplate {
    const checked = this.checkFunction(where, 'keyFn', keyFn) as (...args: unknown[]) => unknown;
    return (args) => {
      const key = checked(...args);
      if (typeof key !== 'string' || key === '') {
        throw new CacheDecoratorError(
          where,
          'keyFn',
          `must return a non-empty string, returned ${String(key)}`,
        );
      }
      return key;
    };
  }

  private compileTags(where: string, tags: CacheTags<never[]> | undefined): TagsOf | undefined {
    if (tags === undefined) return undefined;
    if (typeof tags === 'function') {
      const tagsOf = tags as (...args: unknown[]) => readonly string[];
      return (args) => tagsOf(...args);
    }
    if (!Array.isArray(tags))
      throw new CacheDecoratorError(where, 'tags', 'must be an array of strings or a function');
    const templates = tags.map((tag, index) => this.compileTemplate(where, `tags[${index}]`, tag));
    // Fixed tags (no `{<digit>` placeholder) are one frozen array for every call.
    if (!tags.some((tag) => /\{\d/.test(tag))) {
      const fixed = Object.freeze([...tags]);
      return () => fixed;
    }
    return (args) => templates.map((template) => template(args));
  }

  private checkNamespace(where: string, namespace: unknown): string | undefined {
    if (namespace === undefined) return undefined;
    if (typeof namespace !== 'string' || !this.namespaces.has(namespace)) {
      throw new CacheDecoratorError(
        where,
        'namespace',
        `names no namespace configured in CacheModule (${[...this.namespaces].join(', ')}), got ${String(namespace)}`,
      );
    }
    return namespace;
  }

  private checkDuration(
    where: string,
    option: string,
    value: unknown,
    allowZero: boolean,
  ): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      throw new CacheDecoratorError(
        where,
        option,
        `must be a number of milliseconds ${allowZero ? 'from' : 'above'} 0, got ${String(value)}`,
      );
    }
    return value;
  }

  private checkFunction(where: string, option: string, value: unknown): unknown {
    if (value !== undefined && typeof value !== 'function') {
      throw new CacheDecoratorError(where, option, `must be a function, got ${typeof value}`);
    }
    return value;
  }
}
