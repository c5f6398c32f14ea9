import { describe, expect, it } from '@jest/globals';

import { ApiKeySessions, cookieValue } from './api-key-sessions.js';
import { resolveConsoleOptions } from './console-options.validator.js';

const sessions = new ApiKeySessions(
  resolveConsoleOptions({ apiKey: 'k'.repeat(20), sessionTtlMs: 60_000 }, false, {}),
);

describe('ApiKeySessions', () => {
  it('accepts only the key', () => {
    expect(sessions.checkKey('k'.repeat(20))).toBe(true);
    expect(sessions.checkKey('k'.repeat(19))).toBe(false);
    expect(sessions.checkKey(undefined)).toBe(false);
  });

  it('verifies its own cookies until they expire, and nothing forged', () => {
    const issued = sessions.issue(1_000);
    const header = `other=1; redkit_console=${issued.value}`;
    expect(sessions.verify(header, 2_000)).toEqual({
      id: issued.id,
      csrfToken: issued.csrfToken,
      expiresAt: 61_000,
    });
    expect(sessions.verify(header, 1_000 + 60_000)).toBeUndefined();
    const [version, expires, id, mac] = issued.value.split('.');
    const later = (1_000 + 600_000).toString(36);
    expect(sessions.verify(`redkit_console=${version}.${later}.${id}.${mac}`, 2_000)).toBeUndefined();
    expect(sessions.verify(`redkit_console=${version}.${expires}.other.${mac}`, 2_000)).toBeUndefined();
    const stranger = new ApiKeySessions(resolveConsoleOptions({ apiKey: 'k'.repeat(20) }, false, {}));
    expect(stranger.verify(header, 2_000)).toBeUndefined();
  });

  it('derives the CSRF token from the session, and checks it in constant time', () => {
    const issued = sessions.issue();
    expect(sessions.checkCsrf(issued, issued.csrfToken)).toBe(true);
    expect(sessions.checkCsrf(issued, sessions.issue().csrfToken)).toBe(false);
    expect(sessions.checkCsrf(issued, undefined)).toBe(false);
  });

  it('writes the cookie HttpOnly, SameSite=Strict, scoped to the console', () => {
    expect(sessions.setCookie('v', '/ops/console', true)).toBe(
      'redkit_console=v; Path=/ops/console; HttpOnly; SameSite=Strict; Max-Age=60; Secure',
    );
    expect(sessions.setCookie(undefined, '/console', false)).toContain('Max-Age=0');
    expect(cookieValue('a=1; b=2', 'b')).toBe('2');
  });
});
