import { describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { REDIS_LATENCY_BUCKETS_SECONDS, REDKIT_METRIC_NAME } from './metrics.constants.js';
import { MetricDefinitionError, MetricsOptionError } from './metrics.errors.js';
import { MetricsService } from './metrics.service.js';

describe('MetricsService', () => {
  describe('get-or-create', () => {
    it('returns the same counter when asked twice for the same name, labels in any order', () => {
      const service = new MetricsService();
      const first = service.counter({ name: 'redkit_test_hits_total', help: 'hits', labelNames: ['a', 'b'] });
      const second = service.counter({
        name: 'redkit_test_hits_total',
        help: 'hits',
        labelNames: ['b', 'a'],
      });
      expect(second).toBe(first);
    });

    it('returns the same histogram and gauge when asked twice with the same definition', () => {
      const service = new MetricsService();
      const histogram = {
        name: 'redkit_test_duration_seconds',
        help: 'd',
        buckets: REDIS_LATENCY_BUCKETS_SECONDS,
      };
      const gauge = { name: 'redkit_test_size', help: 'size' };
      expect(service.histogram(histogram)).toBe(service.histogram(histogram));
      expect(service.gauge(gauge)).toBe(service.gauge(gauge));
    });

    it('counts what both holders of a shared counter increment', async () => {
      const service = new MetricsService();
      service
        .counter({ name: 'redkit_test_events_total', help: 'events', labelNames: ['kind'] })
        .inc({ kind: 'x' });
      service
        .counter({ name: 'redkit_test_events_total', help: 'events', labelNames: ['kind'] })
        .inc({ kind: 'x' }, 2);
      expect(await service.metrics()).toContain('redkit_test_events_total{kind="x"} 3');
    });

    it('refuses the same name as another type, naming the metric', () => {
      const service = new MetricsService();
      service.counter({ name: 'redkit_test_things', help: 'things' });
      expect(() => service.gauge({ name: 'redkit_test_things', help: 'things' })).toThrow(
        new MetricDefinitionError('redkit_test_things', 'is already registered as a counter, not a gauge'),
      );
    });

    it('refuses the same name with another label set, naming the metric and both label sets', () => {
      const service = new MetricsService();
      service.counter({ name: 'redkit_test_calls_total', help: 'calls', labelNames: ['command'] });
      expect(() =>
        service.counter({
          name: 'redkit_test_calls_total',
          help: 'calls',
          labelNames: ['command', 'result'],
        }),
      ).toThrow(
        'Metric "redkit_test_calls_total" is already registered with labels [command], not [command, result]',
      );
    });

    it('refuses the same histogram name with other buckets, naming the metric', () => {
      const service = new MetricsService();
      service.histogram({ name: 'redkit_test_latency_seconds', help: 'l', buckets: [0.1, 1] });
      expect(() =>
        service.histogram({ name: 'redkit_test_latency_seconds', help: 'l', buckets: [0.1, 2] }),
      ).toThrow(
        'Metric "redkit_test_latency_seconds" is already registered with buckets [0.1, 1], not [0.1, 2]',
      );
      expect(() => service.histogram({ name: 'redkit_test_latency_seconds', help: 'l' })).toThrow(
        /redkit_test_latency_seconds.*not prom-client's default buckets/,
      );
    });

    it('uses the buckets it is given', async () => {
      const service = new MetricsService();
      service
        .histogram({ name: 'redkit_test_command_seconds', help: 'c', buckets: REDIS_LATENCY_BUCKETS_SECONDS })
        .observe(0.0003);
      const text = await service.metrics();
      expect(text).toContain('redkit_test_command_seconds_bucket{le="0.00025"} 0');
      expect(text).toContain('redkit_test_command_seconds_bucket{le="0.0005"} 1');
    });

    it('refuses a metric of the same name put in a shared registry without MetricsService', () => {
      const registry = new Registry();
      new Counter({ name: 'redkit_test_foreign_total', help: 'f', registers: [registry] });
      const service = new MetricsService({ registry, defaultMetrics: false });
      expect(() => service.counter({ name: 'redkit_test_foreign_total', help: 'f' })).toThrow(
        /Metric "redkit_test_foreign_total" is already in the registry but was not created by MetricsService/,
      );
    });

    it('runs a gauge collect function on every scrape', async () => {
      const service = new MetricsService();
      let size = 0;
      service.gauge({
        name: 'redkit_test_entries',
        help: 'entries',
        collect() {
          this.set(size);
        },
      });
      size = 7;
      expect(await service.metrics()).toContain('redkit_test_entries 7');
      size = 9;
      expect(await service.metrics()).toContain('redkit_test_entries 9');
    });
  });

  describe('metric names', () => {
    it.each([
      'hits_total',
      'redkit_',
      'redkit_Cache_hits',
      'redkit-cache-hits',
      'redkit_cache.hits',
      'xredkit_a',
    ])('refuses %p, naming it and the rule', (name) => {
      const service = new MetricsService();
      expect(() => service.counter({ name, help: 'h' })).toThrow(
        `Metric "${name}" has an invalid name: it must match /^redkit_[a-z0-9_]+$/`,
      );
      expect(service.registry.getSingleMetric(name)).toBeUndefined();
    });

    it('accepts redkit_<module>_<what>_<unit> names', () => {
      expect(REDKIT_METRIC_NAME.test('redkit_cache_hits_total')).toBe(true);
      expect(REDKIT_METRIC_NAME.test('redkit_lock_acquire_duration_seconds')).toBe(true);
      expect(REDKIT_METRIC_NAME.test('redkit_l2_latency_seconds')).toBe(true);
    });

    it('names the metric when prom-client refuses a label name', () => {
      const service = new MetricsService();
      expect(() =>
        service.counter({ name: 'redkit_test_bad_total', help: 'h', labelNames: ['not-a-label'] }),
      ).toThrow('Metric "redkit_test_bad_total" cannot be created: Invalid label name');
    });

    it('refuses an empty help text, naming the metric', () => {
      const service = new MetricsService();
      expect(() => service.counter({ name: 'redkit_test_nohelp_total', help: ' ' })).toThrow(
        'Metric "redkit_test_nohelp_total" needs a non-empty help text',
      );
    });
  });

  describe('registries', () => {
    it('gives every instance a registry of its own, so the same metric can be created in each', () => {
      const first = new MetricsService();
      const second = new MetricsService();
      expect(first.registry).not.toBe(second.registry);
      const definition = { name: 'redkit_test_twice_total', help: 'twice' };
      expect(first.counter(definition)).not.toBe(second.counter(definition));
    });

    it('collects no default metrics when constructed without options', async () => {
      expect(await new MetricsService().metrics()).not.toContain('process_cpu_user_seconds_total');
    });

    it('collects default metrics under their standard names when given options', async () => {
      const text = await new MetricsService({}).metrics();
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    });

    it('serves the Prometheus text format 0.0.4 content type', () => {
      expect(new MetricsService().contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    });

    it('adds default labels to every metric', async () => {
      const service = new MetricsService({ defaultMetrics: false, defaultLabels: { app: 'orderbook-api' } });
      service.counter({ name: 'redkit_test_labelled_total', help: 'l' }).inc();
      expect(await service.metrics()).toContain('redkit_test_labelled_total{app="orderbook-api"} 1');
    });

    it('creates metrics in a registry it is given, and collects default metrics there only once', async () => {
      const registry = new Registry();
      const first = new MetricsService({ registry });
      const second = new MetricsService({ registry });
      first.counter({ name: 'redkit_test_given_total', help: 'g' }).inc();
      expect(second.counter({ name: 'redkit_test_given_total', help: 'g' })).toBe(
        first.counter({ name: 'redkit_test_given_total', help: 'g' }),
      );
      expect(await registry.metrics()).toContain('redkit_test_given_total 1');
      expect(registry.getSingleMetric('process_cpu_user_seconds_total')).toBeDefined();
    });

    it('takes its metrics out of a given registry at shutdown once no other service holds them', () => {
      const registry = new Registry();
      const first = new MetricsService({ registry, defaultMetrics: false });
      const second = new MetricsService({ registry, defaultMetrics: false });
      first.counter({ name: 'redkit_test_shared_total', help: 's' });
      second.counter({ name: 'redkit_test_shared_total', help: 's' });
      first.counter({ name: 'redkit_test_first_only_total', help: 'f' });

      first.onApplicationShutdown();
      expect(registry.getSingleMetric('redkit_test_first_only_total')).toBeUndefined();
      expect(registry.getSingleMetric('redkit_test_shared_total')).toBeDefined();

      second.onApplicationShutdown();
      expect(registry.getSingleMetric('redkit_test_shared_total')).toBeUndefined();
      // The next service on this registry defines the metric afresh, even differently.
      const third = new MetricsService({ registry, defaultMetrics: false });
      expect(() => third.gauge({ name: 'redkit_test_shared_total', help: 's' })).not.toThrow();
    });
  });

  describe('options', () => {
    it.each<[string, unknown, string]>([
      ['a non-object', 'yes', 'MetricsModule options must be an object'],
      [
        'a misspelt option',
        { defaultMetric: false },
        'MetricsModule option "defaultMetric" is not an option',
      ],
      ['a module option', { path: 'x' }, 'MetricsModule option "path" goes beside useFactory'],
      ['a non-boolean defaultMetrics', { defaultMetrics: 'no' }, 'option "defaultMetrics" must be a boolean'],
      ['a registry that is not one', { registry: {} }, 'option "registry" must be a prom-client Registry'],
      ['defaultLabels not an object', { defaultLabels: ['a'] }, 'option "defaultLabels" must be an object'],
      [
        'a non-string label value',
        { defaultLabels: { app: 1 } },
        'option "defaultLabels.app" must be a string',
      ],
      [
        'an invalid label name',
        { defaultLabels: { 'my-app': 'x' } },
        'option "defaultLabels.my-app" is not a valid',
      ],
      [
        'a reserved label name',
        { defaultLabels: { __name: 'x' } },
        'option "defaultLabels.__name" is not a valid',
      ],
    ])('refuses %s, naming the option', (_case, options, message) => {
      expect(() => new MetricsService(options as never)).toThrow(MetricsOptionError);
      expect(() => new MetricsService(options as never)).toThrow(message);
    });
  });
});

describe('MetricsService.deferredCounter', () => {
  it('moves counts made through its children into the counter when the registry is collected', async () => {
    const metrics = new MetricsService();
    const hits = metrics.deferredCounter({
      name: 'redkit_test_hits_total',
      help: 'hits',
      labelNames: ['level'],
    });
    const l1 = hits.labels({ level: 'l1' });
    const l2 = hits.labels({ level: 'l2' });
    for (let index = 0; index < 5; index += 1) l1.inc();
    l2.inc(3);
    expect(await metrics.metrics()).toContain('redkit_test_hits_total{level="l1"} 5');
    l1.inc();
    const text = await metrics.metrics();
    expect(text).toContain('redkit_test_hits_total{level="l1"} 6');
    expect(text).toContain('redkit_test_hits_total{level="l2"} 3');
  });

  it('shows a child at 0 before anything is counted, and shares the counter with counter()', async () => {
    const metrics = new MetricsService();
    metrics
      .deferredCounter({ name: 'redkit_test_shared_total', help: 'shared', labelNames: ['op'] })
      .labels({ op: 'a' });
    metrics
      .counter({ name: 'redkit_test_shared_total', help: 'shared', labelNames: ['op'] })
      .inc({ op: 'b' });
    const text = await metrics.metrics();
    expect(text).toContain('redkit_test_shared_total{op="a"} 0');
    expect(text).toContain('redkit_test_shared_total{op="b"} 1');
  });
});

describe('MetricsService.deferredHistogram', () => {
  it('serves the same text as a prom-client histogram fed the same observations', async () => {
    const deferred = new MetricsService();
    const plain = new MetricsService();
    const definition = {
      name: 'redkit_test_latency_seconds',
      help: 'latency',
      labelNames: ['op'] as const,
      buckets: [0.001, 0.01, 0.1],
    };
    const child = deferred.deferredHistogram(definition).labels({ op: 'get' });
    const reference = plain.histogram(definition);
    for (const value of [0.0005, 0.002, 0.002, 0.05, 3]) {
      child.observe(value);
      reference.observe({ op: 'get' }, value);
    }
    expect(await deferred.metrics()).toBe(await plain.metrics());
  });

  it('gives one child per label set, so two holders add to the same series', async () => {
    const metrics = new MetricsService();
    const definition = {
      name: 'redkit_test_shared_seconds',
      help: 'shared',
      labelNames: ['op'] as const,
      buckets: [1],
    };
    metrics.deferredHistogram(definition).labels({ op: 'a' }).observe(0.5);
    metrics.deferredHistogram(definition).labels({ op: 'a' }).observe(2);
    const text = await metrics.metrics();
    expect(text).toContain('redkit_test_shared_seconds_count{op="a"} 2');
    expect(text).toContain('redkit_test_shared_seconds_bucket{le="1",op="a"} 1');
  });

  it('refuses a name already used by a plain histogram, naming it', () => {
    const metrics = new MetricsService();
    metrics.histogram({ name: 'redkit_test_taken_seconds', help: 'taken' });
    expect(() => metrics.deferredHistogram({ name: 'redkit_test_taken_seconds', help: 'taken' })).toThrow(
      MetricDefinitionError,
    );
  });
});
