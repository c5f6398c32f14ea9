import { BadRequestException, Body, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';

import { ConsoleActionRoute } from './console-action.decorator.js';
import type { DeadLetterPage } from './console-api.types.js';
import { bodyObject, nameParam, optionalStreamId, streamIds, wholeNumber } from './console-input.js';
import { DeadLettersService, type DeadLetterSelection } from './dead-letters.service.js';

/** Bulk actions take at most this many dead letters per request. */
const BULK_LIMIT = 1_000;

/** `{ ids }` or `{ all: { limit } }`, exactly one. */
function selection(body: Record<string, unknown>): DeadLetterSelection {
  if ((body.ids === undefined) === (body.all === undefined)) {
    throw new BadRequestException('ids: give either "ids" (1 to 100) or "all": { "limit": 1 to 1000 }');
  }
  if (body.ids !== undefined) return { ids: streamIds('ids', body.ids, 100) };
  const all = body.all as Record<string, unknown> | null;
  if (all === null || typeof all !== 'object')
    throw new BadRequestException('all: must be { "limit": 1 to 1000 }');
  return { all: { limit: wholeNumber('all.limit', all.limit, 1, BULK_LIMIT) } };
}

/** A stream's dead letters: paged by id, replayed to the stream or deleted, by id or in bulk. */
export class ConsoleDeadLettersController {
  constructor(@Inject(DeadLettersService) private readonly deadLetters: DeadLettersService) {}

  @Get('api/streams/:stream/dead-letters')
  page(
    @Param('stream') stream: string,
    @Query('after') after?: string,
    @Query('limit') limit?: string,
  ): Promise<DeadLetterPage> {
    return this.deadLetters.page(
      nameParam('stream', stream, 512),
      optionalStreamId('after', after),
      wholeNumber('limit', limit, 1, 200, 50),
    );
  }

  @Post('api/streams/:stream/dead-letters/replay')
  @HttpCode(200)
  @ConsoleActionRoute('replay', 'bulk')
  replay(@Param('stream') stream: string, @Body() body: unknown) {
    return this.deadLetters.replay(nameParam('stream', stream, 512), selection(bodyObject(body)));
  }

  @Post('api/streams/:stream/dead-letters/delete')
  @HttpCode(200)
  @ConsoleActionRoute('delete-dead-letter', 'always')
  delete(@Param('stream') stream: string, @Body() body: unknown) {
    return this.deadLetters.delete(nameParam('stream', stream, 512), selection(bodyObject(body)));
  }
}
