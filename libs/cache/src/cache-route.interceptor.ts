import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';

import { CacheInterceptor } from './cache.interceptor.js';

/**
 * Attaches {@link CacheInterceptor} to the decorated method, once however many cache decorators it
 * carries, as the first of the route's own interceptors. On a controller route, Nest runs it for
 * that route only: routes without a cache decorator run no cache code and no RxJS pipeline of ours
 * (an app-wide interceptor would wrap every request of the app). On a provider method the metadata
 * is inert: those methods are wrapped by `CacheDecoratorsExplorer` instead.
 */
export function attachCacheInterceptor(method: object): void {
  const attached = (Reflect.getOwnMetadata(INTERCEPTORS_METADATA, method) ?? []) as readonly unknown[];
  if (attached.includes(CacheInterceptor)) return;
  // Decorators apply bottom-up: an @UseInterceptors written above the cache decorator is added
  // after this, so the cache still answers a hit before it runs.
  Reflect.defineMetadata(INTERCEPTORS_METADATA, [CacheInterceptor, ...attached], method);
}
