import { Get, Inject, NotFoundException } from '@nestjs/common';

import type { LimitsBody } from './console-api.types.js';
import { ConsolePeers } from './console-peers.js';
import { MetricsSampler } from './metrics.sampler.js';

/** Rate-limit decisions over time and the top limited identities (in process, no Redis read). */
export class ConsoleLimitsController {
  constructor(
    @Inject(MetricsSampler) private readonly sampler: MetricsSampler,
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
  ) {}

  @Get('api/limits')
  limits(): LimitsBody {
    if (this.peers.limiter === undefined) {
      throw new NotFoundException(
        'the rate-limit view needs @redkit/rate-limit (RateLimitModule) in the app',
      );
    }
    return this.sampler.limits.body();
  }
}
