import { BadRequestException, Body, Get, HttpCode, Inject, Post } from '@nestjs/common';

import { CacheView } from './cache.view.js';
import { ConsoleActionRoute } from './console-action.decorator.js';
import type { CacheBody } from './console-api.types.js';
import { bodyObject, optionalString } from './console-input.js';

/** Cache statistics per namespace, and evicting a key or a tag. */
export class ConsoleCacheController {
  constructor(@Inject(CacheView) private readonly cache: CacheView) {}

  @Get('api/cache')
  body(): Promise<CacheBody> {
    return this.cache.body();
  }

  @Post('api/cache/evict')
  @HttpCode(200)
  @ConsoleActionRoute('evict')
  evict(@Body() body: unknown) {
    const input = bodyObject(body);
    const key = optionalString('key', input.key, 1_024);
    const tag = optionalString('tag', input.tag, 1_024);
    const namespace = optionalString('namespace', input.namespace, 200);
    if ((key === undefined) === (tag === undefined))
      throw new BadRequestException('key: give exactly one of "key" and "tag"');
    return this.cache.evict(key !== undefined ? { key, namespace } : { tag: tag as string, namespace });
  }
}
