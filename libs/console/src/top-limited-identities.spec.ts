import { describe, expect, it } from '@jest/globals';

import { TopLimitedIdentities } from './top-limited-identities.js';

describe('TopLimitedIdentities', () => {
  it('ranks identities by refusals over the last five minutes', () => {
    const top = new TopLimitedIdentities();
    const start = 10 * 60_000;
    for (let n = 0; n < 3; n += 1) top.record('ada', 'login', start);
    top.record('bob', 'login', start + 1);
    top.record('ada', 'search', start + 2);
    expect(top.top(10, start + 3)).toEqual([
      { identity: 'ada', limit: 'login', refused: 3, lastAt: start },
      { identity: 'ada', limit: 'search', refused: 1, lastAt: start + 2 },
      { identity: 'bob', limit: 'login', refused: 1, lastAt: start + 1 },
    ]);
    // Five minutes later the old minute has left the window.
    top.record('bob', 'login', start + 5 * 60_000);
    expect(top.top(10, start + 5 * 60_000)).toEqual([
      { identity: 'bob', limit: 'login', refused: 1, lastAt: start + 5 * 60_000 },
    ]);
  });

  it('stays bounded, keeping the persistent offenders over one-off identities', () => {
    const top = new TopLimitedIdentities(10);
    for (let n = 0; n < 50; n += 1) top.record('flood', 'api', 1_000);
    for (let n = 0; n < 1_000; n += 1) top.record(`one-off-${n}`, 'api', 1_000 + n);
    const listed = top.top(100, 2_000);
    expect(listed.length).toBeLessThanOrEqual(10);
    expect(listed[0]).toMatchObject({ identity: 'flood', refused: 50 });
  });

  it('keeps at most 200 characters of an identity', () => {
    const top = new TopLimitedIdentities();
    top.record('k'.repeat(1_000), 'api', 1);
    expect(top.top(1, 2)[0]?.identity).toHaveLength(200);
  });
});
