import { CorrelationOptionsError } from './tracing.errors.js';

/** Options of `CorrelationModule.forRoot`. */
export interface CorrelationModuleOptions {
  /**
   * Take the correlation id a request brings (the trace id of `traceparent`, else
   * `x-correlation-id`). Default true; false generates one for every request (an edge facing
   * clients whose ids should not reach the logs). Span parenting on `traceparent` is not affected.
   */
  trustIncoming?: boolean;
  /** Answer the id in an `x-correlation-id` response header. Default true. */
  responseHeader?: boolean;
  /**
   * While a tracer provider is registered, start a server span `HTTP <method> <route>` for each
   * request that has none yet (no HTTP instrumentation made one), parented on its `traceparent`.
   * Default true.
   */
  serverSpans?: boolean;
}

/** The options with their defaults, checked. */
export type ResolvedCorrelationOptions = Readonly<Required<CorrelationModuleOptions>>;

const DEFAULTS: ResolvedCorrelationOptions = Object.freeze({
  trustIncoming: true,
  responseHeader: true,
  serverSpans: true,
});

/** Checks and completes `CorrelationModule`'s options; throws CorrelationOptionsError naming the option. */
export function resolveCorrelationOptions(
  options: CorrelationModuleOptions | undefined,
): ResolvedCorrelationOptions {
  if (options === undefined || options === null) return DEFAULTS;
  if (typeof options !== 'object')
    throw new CorrelationOptionsError('options', `must be an object, got ${typeof options}`);
  const resolved: Required<CorrelationModuleOptions> = { ...DEFAULTS };
  for (const [name, value] of Object.entries(options) as Array<[string, unknown]>) {
    if (!(name in DEFAULTS)) {
      throw new CorrelationOptionsError(
        name,
        `is not an option (known: ${Object.keys(DEFAULTS).join(', ')})`,
      );
    }
    if (value === undefined) continue;
    if (typeof value !== 'boolean')
      throw new CorrelationOptionsError(name, `must be a boolean, got ${typeof value}`);
    resolved[name as keyof CorrelationModuleOptions] = value;
  }
  return Object.freeze(resolved);
}
