import { Get, Inject, NotFoundException } from '@nestjs/common';

import type { ThroughputBody } from './console-api.types.js';
import { CONSOLE_RESOLVED_OPTIONS } from './console.constants.js';
import type { ResolvedConsoleOptions } from './console-options.validator.js';
import { ConsolePeers } from './console-peers.js';
import { MetricsSampler } from './metrics.sampler.js';

/** Throughput per stream, from the ring the sampler fills every second (no Redis read). */
export class ConsoleThroughputController {
  constructor(
    @Inject(MetricsSampler) private readonly sampler: MetricsSampler,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
    @Inject(CONSOLE_RESOLVED_OPTIONS) private readonly options: ResolvedConsoleOptions,
  ) {}

  @Get('api/throughput')
  throughput(): ThroughputBody {
    if (!this.peers.hasMessaging) {
      throw new NotFoundException('the throughput view needs @redkit/messaging (MessagingModule) in the app');
    }
    return this.sampler.throughput.body((stream) => this.options.hidden.matches(stream));
  }
}
