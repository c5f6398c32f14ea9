import { describe, expect, it } from '@jest/globals';

import { AppConfigError, readAppConfig } from '../app.config.js';
import { correlationIdsByDefault } from './correlation-default.js';

describe('CORRELATION_IDS', () => {
  it('leaves the choice to the runtime when unset or auto, and takes on/off as given', () => {
    expect(readAppConfig({}).correlationIds).toBeUndefined();
    expect(readAppConfig({ CORRELATION_IDS: 'auto' }).correlationIds).toBeUndefined();
    expect(readAppConfig({ CORRELATION_IDS: 'on' }).correlationIds).toBe(true);
    expect(readAppConfig({ CORRELATION_IDS: 'off' }).correlationIds).toBe(false);
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => readAppConfig({ CORRELATION_IDS: 'sometimes' })).toThrow(AppConfigError);
    expect(() => readAppConfig({ CORRELATION_IDS: 'sometimes' })).toThrow(/CORRELATION_IDS/);
  });

  it('turns them on by default only where AsyncLocalStorage runs on context frames (Node 24+)', () => {
    // No OpenTelemetry SDK is registered in this test.
    const major = Number(process.versions.node.split('.')[0]);
    expect(correlationIdsByDefault()).toBe(
      major >= 24 && !process.execArgv.includes('--no-async-context-frame'),
    );
  });
});
