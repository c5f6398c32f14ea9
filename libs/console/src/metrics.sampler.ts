import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { MetricsService } from '@redkit/metrics';

import type { LimitRates, ThroughputPoint } from './console-api.types.js';
import { SAMPLE_INTERVAL_MS } from './console.constants.js';
import { ConsolePeers } from './console-peers.js';
import { LimitHistory } from './limit.history.js';
import { readMetric } from './metric-readings.js';
import { ThroughputHistory } from './throughput.history.js';

/** What one sample added. */
export interface MetricsSample {
  at: number;
  throughput: ThroughputPoint[];
  limits: LimitRates[];
}

/**
 * Samples redkit's own counters from the app's MetricsService registry every second, in process
 * (no Redis command, no scrape), into the throughput and rate-limit rings; listens to the rate
 * limiter's refusals for the top limited identities. Runs from application bootstrap to shutdown on
 * an unref'd timer (it never keeps a process alive). Without a MetricsModule there is nothing to
 * sample and the rings stay empty.
 */
@Injectable()
export class MetricsSampler implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly throughput = new ThroughputHistory();
  readonly limits = new LimitHistory();
  private timer?: NodeJS.Timeout;
  private sampling = false;
  private stopRefusals?: () => void;
  private readonly listeners = new Set<(sample: MetricsSample) => void>();

  constructor(
    @Inject(ConsolePeers) private readonly peers: ConsolePeers,
    @Optional() @Inject(MetricsService) private readonly metrics?: MetricsService,
  ) {}

  /** True when the app has a MetricsModule to sample. */
  get available(): boolean {
    return this.metrics !== undefined;
  }

  onApplicationBootstrap(): void {
    const limiter = this.peers.limiter;
    if (limiter !== undefined && typeof limiter.onRefusal === 'function') {
      this.stopRefusals = limiter.onRefusal((identity, limit) =>
        this.limits.identities.record(identity, limit),
      );
    }
    if (this.metrics === undefined) return;
    this.timer = setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
    void this.sample();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopRefusals?.();
    this.stopRefusals = undefined;
    this.listeners.clear();
  }

  /** Calls `listener` after every sample; returns a function that removes it. */
  onSample(listener: (sample: MetricsSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One sample (skipped while the previous one still runs). */
  async sample(at = Date.now()): Promise<void> {
    if (this.metrics === undefined || this.sampling) return;
    this.sampling = true;
    try {
      const { registry } = this.metrics;
      const [messages, handler, limits] = await Promise.all([
        readMetric(registry, 'redkit_stream_messages_total'),
        readMetric(registry, 'redkit_stream_handler_duration_seconds'),
        readMetric(registry, 'redkit_ratelimit_requests_total'),
      ]);
      const sample: MetricsSample = {
        at,
        throughput: this.throughput.record(at, messages, handler),
        limits: this.limits.record(at, limits),
      };
      for (const listener of this.listeners) listener(sample);
    } catch {
      // A metric another lib registered oddly is no reason to stop sampling the others.
    } finally {
      this.sampling = false;
    }
  }
}
