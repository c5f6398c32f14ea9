/** An option given to `MetricsModule` or `MetricsService` is invalid; the message names the option. */
export class MetricsOptionError extends Error {
  override readonly name = 'MetricsOptionError';

  constructor(
    /** The option at fault, as a path (`defaultLabels.app`); `undefined` for the options object itself. */
    readonly option: string | undefined,
    problem: string,
  ) {
    super(
      option === undefined
        ? `MetricsModule options ${problem}`
        : `MetricsModule option "${option}" ${problem}`,
    );
  }
}

/**
 * A metric cannot be created as asked: its name breaks the naming rule, or a metric of that name exists
 * with a different type, label set or buckets. The message names the metric.
 */
export class MetricDefinitionError extends Error {
  override readonly name = 'MetricDefinitionError';

  constructor(
    /** The name of the metric at fault. */
    readonly metricName: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`Metric "${metricName}" ${problem}`, options);
  }
}
