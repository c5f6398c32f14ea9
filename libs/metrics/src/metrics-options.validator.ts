import type { Registry, RegistryContentType } from 'prom-client';
import { DEFAULT_METRICS_PATH } from './metrics.constants.js';
import { MetricsOptionError } from './metrics.errors.js';
import type { MetricsModuleExtras, MetricsModuleOptions } from './metrics-module-options.interface.js';

/** `MetricsModuleOptions` after validation, with defaults applied. */
export interface ResolvedMetricsOptions {
  readonly defaultMetrics: boolean;
  readonly registry: Registry<RegistryContentType> | undefined;
  readonly defaultLabels: Readonly<Record<string, string>> | undefined;
}

const OPTION_NAMES: ReadonlySet<string> = new Set(['defaultMetrics', 'registry', 'defaultLabels']);
const EXTRA_NAMES: ReadonlySet<string> = new Set(['isGlobal', 'path']);
// Prometheus label names; names starting with "__" are reserved for Prometheus itself.
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks options once, at construction, and applies defaults. Unknown keys are rejected so that a
 * misspelt option (`defaultMetric: false`) fails loudly instead of being ignored.
 */
export function validateMetricsModuleOptions(options: unknown): ResolvedMetricsOptions {
  if (!isPlainObject(options)) throw new MetricsOptionError(undefined, 'must be an object');
  for (const key of Object.keys(options)) {
    if (EXTRA_NAMES.has(key)) {
      throw new MetricsOptionError(
        key,
        'goes beside useFactory in forRootAsync, not in the options it returns',
      );
    }
    if (!OPTION_NAMES.has(key)) {
      throw new MetricsOptionError(key, `is not an option (known: ${[...OPTION_NAMES].join(', ')})`);
    }
  }
  const { defaultMetrics, registry, defaultLabels } = options as MetricsModuleOptions;
  if (defaultMetrics !== undefined && typeof defaultMetrics !== 'boolean') {
    throw new MetricsOptionError('defaultMetrics', 'must be a boolean');
  }
  if (registry !== undefined && !isRegistry(registry)) {
    throw new MetricsOptionError('registry', 'must be a prom-client Registry');
  }
  if (defaultLabels !== undefined) validateDefaultLabels(defaultLabels);
  return Object.freeze({
    defaultMetrics: defaultMetrics ?? true,
    registry,
    defaultLabels: defaultLabels === undefined ? undefined : Object.freeze({ ...defaultLabels }),
  });
}

/** Checks the options that shape the Nest module (`isGlobal`, `path`) and applies their defaults. */
export function validateMetricsModuleExtras(extras: Partial<MetricsModuleExtras>): MetricsModuleExtras {
  const { isGlobal = true, path = DEFAULT_METRICS_PATH } = extras;
  if (typeof isGlobal !== 'boolean') throw new MetricsOptionError('isGlobal', 'must be a boolean');
  if (path !== false && (typeof path !== 'string' || path.trim() === '')) {
    throw new MetricsOptionError('path', 'must be a non-empty string, or false for no endpoint');
  }
  return { isGlobal, path };
}

function validateDefaultLabels(labels: unknown): void {
  if (!isPlainObject(labels)) throw new MetricsOptionError('defaultLabels', 'must be an object');
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new MetricsOptionError(`defaultLabels.${name}`, 'is not a valid Prometheus label name');
    }
    if (typeof value !== 'string') throw new MetricsOptionError(`defaultLabels.${name}`, 'must be a string');
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

// Duck-typed rather than `instanceof`, so a Registry from another copy of prom-client is accepted.
function isRegistry(value: unknown): value is Registry<RegistryContentType> {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof Registry, unknown>>;
  return (
    typeof candidate.metrics === 'function' &&
    typeof candidate.registerMetric === 'function' &&
    typeof candidate.getSingleMetric === 'function' &&
    typeof candidate.contentType === 'string'
  );
}
