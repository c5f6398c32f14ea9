import { Get, Inject, NotFoundException, Query } from '@nestjs/common';

import type { LocksBody } from './console-api.types.js';
import { wholeNumber } from './console-input.js';
import { ConsolePeers } from './console-peers.js';
import { LocksView } from './locks.view.js';

/** Held locks, semaphores, read-write locks and leaders, paged by SCAN cursor. */
export class ConsoleLocksController {
  constructor(
    @Inject(LocksView) private readonly locks: LocksView,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
  ) {}

  @Get('api/locks')
  page(@Query('cursor') cursor?: string, @Query('limit') limit?: string): Promise<LocksBody> {
    if (!this.peers.hasLocks)
      throw new NotFoundException('the locks view needs @redkit/lock (LockModule) in the app');
    return this.locks.page(cursor === '' ? undefined : cursor, wholeNumber('limit', limit, 1, 500, 100));
  }
}
