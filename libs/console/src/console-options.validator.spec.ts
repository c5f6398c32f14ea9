import { describe, expect, it } from '@jest/globals';

import { ConsoleOptionsError } from './console.errors.js';
import type { ConsoleModuleOptions } from './console-options.interface.js';
import { resolveConsoleExtras, resolveConsoleOptions, streamMatcher } from './console-options.validator.js';

/** The message of what `run` throws, which must be a ConsoleOptionsError. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConsoleOptionsError);
    return (error as Error).message;
  }
  throw new Error('expected a ConsoleOptionsError');
}

describe('console options', () => {
  it('is read-only, without production confirmations outside production, by default', () => {
    const options = resolveConsoleOptions(undefined, false, {});
    expect(options).toMatchObject({
      mode: 'read-only',
      apiKey: undefined,
      production: false,
      sessionTtlMs: 8 * 3_600_000,
      secureCookie: 'auto',
      maxPayloadBytes: 2_048,
      tailPerSecond: 50,
      deadConsumerMs: 300_000,
      maxStreams: 100,
      requestsPerSecond: 20,
      maxLiveConnections: 50,
    });
    expect(options.deny.size).toBe(0);
    expect([...options.redactFields]).toEqual(['password', 'token', 'secret', 'authorization', 'apikey']);
    expect(options.sessionSecret).toHaveLength(32);
    expect(resolveConsoleOptions({}, false, { NODE_ENV: 'production' }).production).toBe(true);
    expect(resolveConsoleOptions({ production: false }, false, { NODE_ENV: 'production' }).production).toBe(
      false,
    );
  });

  it('gives each process its own random session secret unless one is set', () => {
    const first = resolveConsoleOptions({}, false, {});
    const second = resolveConsoleOptions({}, false, {});
    expect(first.sessionSecret.equals(second.sessionSecret)).toBe(false);
    const secret = 's'.repeat(32);
    expect(resolveConsoleOptions({ sessionSecret: secret }, false, {}).sessionSecret.toString()).toBe(secret);
  });

  it.each<[string, ConsoleModuleOptions, RegExp]>([
    ['mode', { mode: 'write' as never }, /"mode" must be "read-only" or "operate"/],
    ['apiKey', { apiKey: 'short' }, /"apiKey" must be a string of 16 to 512 characters/],
    ['sessionSecret', { sessionSecret: 'short' }, /"sessionSecret" must be a string of at least 32/],
    ['deny', { deny: ['ack', 'drop' as never] }, /"deny\[1\]" must be one of ack, claim, autoclaim/],
    ['streams.hide', { streams: { hide: [''] } }, /"streams\.hide\[0\]" must be a string/],
    ['maxPayloadBytes', { maxPayloadBytes: 10 }, /"maxPayloadBytes" must be a whole number from 64/],
    ['tailPerSecond', { tailPerSecond: 0.5 }, /"tailPerSecond" must be a whole number/],
    ['production', { production: 'yes' as never }, /"production" must be a boolean/],
    ['secureCookie', { secureCookie: 'yes' as never }, /"secureCookie" must be true, false or 'auto'/],
    [
      'serverMetricsConnection',
      { serverMetricsConnection: 'a b' },
      /"serverMetricsConnection" must be a RedisModule/,
    ],
  ])('names the bad option: %s', (_name, options, message) => {
    expect(refusal(() => resolveConsoleOptions(options, false, {}))).toMatch(message);
  });

  it('refuses an API key beside the app’s guard', () => {
    expect(refusal(() => resolveConsoleOptions({ apiKey: 'k'.repeat(16) }, true, {}))).toMatch(
      /"apiKey" cannot be combined with guard/,
    );
  });

  it('normalises the path and checks the connection and guard', () => {
    expect(resolveConsoleExtras({}).path).toBe('/console');
    expect(resolveConsoleExtras({ path: 'ops/console/' }).path).toBe('/ops/console');
    expect(refusal(() => resolveConsoleExtras({ path: '/con sole' }))).toMatch(/"path" must be a URL path/);
    expect(refusal(() => resolveConsoleExtras({ path: '/a/../b' }))).toMatch(/"path"/);
    expect(refusal(() => resolveConsoleExtras({ connection: 'a b' }))).toMatch(/"connection"/);
    expect(refusal(() => resolveConsoleExtras({ guard: 'AuthGuard' as never }))).toMatch(
      /"guard" must be a guard class/,
    );
  });

  it('matches streams exactly or by * glob, nothing else being special', () => {
    const matcher = streamMatcher(['orders', 'secret.*', '*.audit']);
    expect(matcher.matches('orders')).toBe(true);
    expect(matcher.matches('orders2')).toBe(false);
    expect(matcher.matches('secret.keys')).toBe(true);
    expect(matcher.matches('secretXkeys')).toBe(false);
    expect(matcher.matches('billing.audit')).toBe(true);
    expect(streamMatcher(['a+b']).matches('a+b')).toBe(true);
    expect(streamMatcher([]).empty).toBe(true);
  });
});
