import { Controller, Get, Inject, Res, SetMetadata, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SWAGGER_EXCLUDE_CONTROLLER_METADATA } from './metrics.constants.js';
import { MetricsService } from './metrics.service.js';

/**
 * The scrape endpoint's handler, without a route: a controller's path comes from its class
 * decorator, so `createMetricsController` decorates a subclass per configured path.
 */
class MetricsScrapeHandler {
  constructor(
    @Inject(MetricsService) private readonly metricsService: MetricsService,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** `GET /metrics`: the registry in Prometheus text format, under prom-client's exact content type. */
  @Get()
  async scrape(@Res({ passthrough: true }) response: unknown): Promise<string> {
    const body = await this.metricsService.metrics();
    // Set per request rather than with @Header(): a registry given in the options may be an
    // OpenMetrics one, and the header must name the format the body is in.
    this.adapterHost.httpAdapter.setHeader(response, 'Content-Type', this.metricsService.contentType);
    return body;
  }
}

/** Creates the controller that serves `GET /<path>`, left out of OpenAPI documents. */
export function createMetricsController(path: string): Type<MetricsScrapeHandler> {
  class MetricsController extends MetricsScrapeHandler {}
  Controller(path)(MetricsController);
  // What @ApiExcludeController() writes; swagger is not imported, so it stays optional.
  SetMetadata(SWAGGER_EXCLUDE_CONTROLLER_METADATA, [true])(MetricsController);
  return MetricsController;
}
