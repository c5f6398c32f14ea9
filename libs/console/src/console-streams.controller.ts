import { Get, Inject, NotFoundException, Param } from '@nestjs/common';

import type { StreamDetail, StreamsBody } from './console-api.types.js';
import { nameParam } from './console-input.js';
import { ConsolePeers } from './console-peers.js';
import { StreamsView } from './streams.view.js';

/** The Streams view: every stream with its groups, and one stream with its consumers. */
export class ConsoleStreamsController {
  constructor(
    @Inject(StreamsView) private readonly streams: StreamsView,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
  ) {}

  @Get('api/streams')
  list(): Promise<StreamsBody> {
    this.requireMessaging();
    return this.streams.list();
  }

  @Get('api/streams/:stream')
  detail(@Param('stream') stream: string): Promise<StreamDetail> {
    this.requireMessaging();
    return this.streams.detail(nameParam('stream', stream, 512));
  }

  private requireMessaging(): void {
    if (!this.peers.hasMessaging) {
      throw new NotFoundException('the streams view needs @redkit/messaging (MessagingModule) in the app');
    }
  }
}
