import { describe, expect, it } from '@jest/globals';

import { MessagingOptionsError } from './messaging.errors.js';
import type { MessagingModuleOptions } from './messaging-options.interface.js';
import { resolveConsumerSettings, resolveMessagingOptions } from './messaging-options.validator.js';

describe('messaging options', () => {
  it('applies the defaults', () => {
    const options = resolveMessagingOptions();
    expect(options.streamMaxLen).toBe(100_000);
    expect(options.source).toContain(String(process.pid));
    expect(resolveConsumerSettings({}, {})).toEqual({
      concurrency: 16,
      batchSize: 16,
      blockMs: 1_000,
      maxDeliveries: 5,
      claimIdleMs: 30_000,
      retryDelayMs: 500,
      claimIntervalMs: 5_000,
      startId: '0',
      deadLetterMaxLen: 100_000,
      deleteIdleConsumersAfterMs: 3_600_000,
      priorityWeights: { critical: 8, high: 4, normal: 2, low: 1 },
    });
  });

  it('lets a consumer override the module defaults', () => {
    const settings = resolveConsumerSettings({ concurrency: 4, maxDeliveries: 2 }, { concurrency: 8 });
    expect(settings.concurrency).toBe(8);
    expect(settings.maxDeliveries).toBe(2);
  });

  it('names the bad option', () => {
    expect(() => resolveMessagingOptions({ consumers: { concurrency: 0 } })).toThrow(
      new MessagingOptionsError('consumers.concurrency', 'must be a whole number from 1, got 0'),
    );
    expect(() => resolveMessagingOptions({ streamMaxLen: -1 })).toThrow(/streamMaxLen/);
    expect(() => resolveConsumerSettings({}, { retryDelayMs: 5_000, claimIdleMs: 1_000 })).toThrow(
      /retryDelayMs/,
    );
    expect(() => resolveConsumerSettings({}, { startId: 'latest' })).toThrow(/startId/);
    expect(() => resolveMessagingOptions({ consumers: { priorityWeights: { low: 0 } } })).toThrow(
      /"consumers\.priorityWeights\.low"/,
    );
  });

  it('leaves durability off by default and bounds durability.timeoutMs by half the command timeout', () => {
    expect(resolveMessagingOptions().durability).toBeUndefined();
    expect(resolveMessagingOptions({ durability: { replicas: 1 } }).durability).toEqual({
      replicas: 1,
      timeoutMs: 500,
    });
    expect(resolveMessagingOptions({ durability: { replicas: 1 } }, 400).durability).toEqual({
      replicas: 1,
      timeoutMs: 200,
    });
    expect(
      resolveMessagingOptions({ durability: { replicas: 2, timeoutMs: 900 } }, 2_000).durability,
    ).toEqual({ replicas: 2, timeoutMs: 900 });
  });

  it.each([
    [{ durability: 1 }, 'durability', /must be an object/],
    [{ durability: { replicas: 0 } }, 'durability.replicas', /from 1/],
    [{ durability: { replicas: '1' } }, 'durability.replicas', /whole number/],
    [{ durability: { replicas: 1, timeoutMs: 501 } }, 'durability.timeoutMs', /from 1 to 500/],
    [{ durability: { replicas: 1, timeoutMs: 0 } }, 'durability.timeoutMs', /from 1 to 500/],
  ])('names the bad durability option in %j', (options, option, reason) => {
    let error: unknown;
    try {
      resolveMessagingOptions(options as MessagingModuleOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MessagingOptionsError);
    expect((error as MessagingOptionsError).option).toBe(option);
    expect((error as Error).message).toMatch(reason);
  });
});
