import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';

/**
 * The one argument a controller handler's key template, `keyFn`, tags, `condition` and `unless`
 * receive: the request's route parameters, query and body as they arrive (before pipes, so query
 * values are strings).
 *
 * @example
 * @Cacheable({ key: 'book:{0.params.symbol}:{0.query.depth}' })
 * @Cacheable({ keyFn: ({ params, query }: CacheRequestArguments) => `book:${params.symbol}:${String(query.depth)}` })
 */
export interface CacheRequestArguments {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

interface RouteRequest {
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
}

/**
 * What Nest hands a decorated route, as a hidden last argument, on an HTTP call: the request and
 * response. Its class marks the call as a route call; a provider's own calls never carry one.
 */
export class CacheRouteCall {
  constructor(
    readonly request: RouteRequest,
    readonly response: object,
  ) {}

  /** The key functions' argument list: `[{ params, query, body }]`. */
  keyArguments(): [CacheRequestArguments] {
    const { request } = this;
    return [
      {
        params: request.params ?? {},
        query: request.query ?? {},
        body: request.body,
      },
    ];
  }
}

/** Runs one route call through the cache: the explorer of the app the controller belongs to. */
export interface CacheRouteRunner {
  runRoute(controller: object, handler: object, call: CacheRouteCall, invoke: () => unknown): unknown;
}

/** The explorer of each app's controllers (request-scoped ones by class: they have no single instance). */
const runnersByInstance = new WeakMap<object, CacheRouteRunner>();
const runnersByClass = new WeakMap<object, CacheRouteRunner>();

/** Called by `CacheDecoratorsExplorer` at module init for each controller of its app. */
export function registerCacheRoutes(controller: object, runner: CacheRouteRunner, byClass: boolean): void {
  (byClass ? runnersByClass : runnersByInstance).set(controller, runner);
}

/** Route wrappers installed on prototypes; a second cache decorator on the method keeps the first's. */
const routeWrappers = new WeakSet<object>();

const RouteCallParam = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  context.getType() === 'http'
    ? new CacheRouteCall(context.getArgByIndex<RouteRequest>(0), context.getArgByIndex<object>(1))
    : undefined,
);

/** The index after every argument the handler declares or Nest fills in. */
function hiddenArgumentIndex(
  target: object,
  propertyKey: string | symbol,
  method: (...args: never[]) => unknown,
): number {
  const routeArgs = (Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, propertyKey) ??
    {}) as Record<string, { index: number }>;
  const declared = (Reflect.getMetadata('design:paramtypes', target, propertyKey) ?? []) as unknown[];
  let index = Math.max(method.length, declared.length);
  for (const { index: used } of Object.values(routeArgs)) index = Math.max(index, used + 1);
  return index;
}

/**
 * Makes the decorated method a cached route when Nest calls it as one. Instead of an interceptor,
 * which puts Nest's RxJS pipeline (about a third of a cheap route's CPU) in front of every call of
 * the route, the method is replaced on the prototype, at decoration time (Nest compiles routes
 * before any module init), by a wrapper, and asks Nest for one more argument, `CacheRouteCall`.
 * Called with it, the wrapper runs the cache (the explorer of the controller's app); called without
 * it (a provider's method, an internal call, no `CacheModule`), it runs the method as it is.
 * Parameter decorators apply before method decorators, so every argument Nest fills in is known here.
 */
export function installCacheRoute(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<unknown>,
): void {
  const method = descriptor.value;
  if (typeof method !== 'function' || routeWrappers.has(method)) return;
  const original = method as (...args: unknown[]) => unknown;
  const index = hiddenArgumentIndex(target, propertyKey, original);
  RouteCallParam()(target, propertyKey, index);
  const wrapper = function (this: object, ...args: unknown[]): unknown {
    const call = args[index];
    if (!(call instanceof CacheRouteCall)) return original.apply(this, args);
    args.length = index;
    const runner = runnersByInstance.get(this) ?? runnersByClass.get(this.constructor);
    if (runner === undefined) return original.apply(this, args);
    return runner.runRoute(this, wrapper, call, () => original.apply(this, args));
  };
  Object.defineProperty(wrapper, 'name', { value: original.name });
  // Decorators below this one (route path, Swagger, guards' metadata) described the original.
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapper);
  }
  routeWrappers.add(wrapper);
  descriptor.value = wrapper;
}
