import { Body, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';

import { ConsoleActionRoute } from './console-action.decorator.js';
import type { AutoclaimReport, PendingPage } from './console-api.types.js';
import {
  bodyObject,
  nameParam,
  optionalLane,
  optionalLaneCursor,
  streamIds,
  wholeNumber,
} from './console-input.js';
import { PendingEntriesService } from './pending-entries.service.js';

/**
 * The pending entries of a group, of every priority lane: paged by id, and acked, claimed, swept or
 * deleted (an action on entries names their lane in `priority`, `normal` when absent).
 */
export class ConsolePendingController {
  constructor(@Inject(PendingEntriesService) private readonly pending: PendingEntriesService) {}

  @Get('api/streams/:stream/groups/:group/pending')
  page(
    @Param('stream') stream: string,
    @Param('group') group: string,
    @Query('after') after?: string,
    @Query('limit') limit?: string,
    @Query('consumer') consumer?: string,
    @Query('priority') priority?: string,
  ): Promise<PendingPage> {
    return this.pending.page(nameParam('stream', stream, 512), nameParam('group', group), {
      after: optionalLaneCursor('after', after),
      limit: wholeNumber('limit', limit, 1, 200, 50),
      consumer: consumer === undefined || consumer === '' ? undefined : nameParam('consumer', consumer),
      priority: optionalLane('priority', priority),
    });
  }

  @Post('api/streams/:stream/groups/:group/pending/ack')
  @HttpCode(200)
  @ConsoleActionRoute('ack')
  ack(@Param('stream') stream: string, @Param('group') group: string, @Body() body: unknown) {
    const input = bodyObject(body);
    return this.pending.ack(
      nameParam('stream', stream, 512),
      nameParam('group', group),
      streamIds('ids', input.ids, 100),
      optionalLane('priority', input.priority),
    );
  }

  @Post('api/streams/:stream/groups/:group/pending/claim')
  @HttpCode(200)
  @ConsoleActionRoute('claim')
  claim(@Param('stream') stream: string, @Param('group') group: string, @Body() body: unknown) {
    const input = bodyObject(body);
    return this.pending.claim(
      nameParam('stream', stream, 512),
      nameParam('group', group),
      streamIds('ids', input.ids, 100),
      nameParam('consumer', input.consumer),
      wholeNumber('minIdleMs', input.minIdleMs, 0, 2 ** 31, 0),
      optionalLane('priority', input.priority),
    );
  }

  @Post('api/streams/:stream/groups/:group/pending/autoclaim')
  @HttpCode(200)
  @ConsoleActionRoute('autoclaim', 'always')
  autoclaim(
    @Param('stream') stream: string,
    @Param('group') group: string,
    @Body() body: unknown,
  ): Promise<AutoclaimReport> {
    const input = bodyObject(body);
    return this.pending.autoclaim(
      nameParam('stream', stream, 512),
      nameParam('group', group),
      nameParam('consumer', input.consumer),
      wholeNumber('minIdleMs', input.minIdleMs, 0, 2 ** 31),
      wholeNumber('count', input.count, 1, 1_000),
      optionalLaneCursor('start', input.start),
      optionalLane('priority', input.priority),
    );
  }

  @Post('api/streams/:stream/groups/:group/pending/delete')
  @HttpCode(200)
  @ConsoleActionRoute('delete-pending', 'always')
  delete(@Param('stream') stream: string, @Param('group') group: string, @Body() body: unknown) {
    const input = bodyObject(body);
    return this.pending.delete(
      nameParam('stream', stream, 512),
      nameParam('group', group),
      streamIds('ids', input.ids, 100),
      optionalLane('priority', input.priority),
    );
  }
}
