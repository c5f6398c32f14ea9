import { Get, Inject, NotFoundException, Query } from '@nestjs/common';

import type { EventsBody } from './console-api.types.js';
import { wholeNumber } from './console-input.js';
import { ConsolePeers } from './console-peers.js';
import { EventTail } from './event-tail.js';

/** The last events of the event bus the console saw. */
export class ConsoleEventsController {
  constructor(
    @Inject(EventTail) private readonly tail: EventTail,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
  ) {}

  @Get('api/events')
  async events(@Query('limit') limit?: string): Promise<EventsBody> {
    if (this.peers.bus === undefined) {
      throw new NotFoundException('the events view needs @redkit/messaging (MessagingModule) in the app');
    }
    return { events: await this.tail.recentEvents(wholeNumber('limit', limit, 1, 200, 100)) };
  }
}
