import { describe, expect, it } from '@jest/globals';

import { clientAddress } from './client-address.js';

describe('clientAddress', () => {
  it('ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(clientAddress('10.0.0.1', '1.2.3.4', false)).toBe('10.0.0.1');
    expect(clientAddress('::ffff:10.0.0.1', undefined, 1)).toBe('10.0.0.1');
    expect(clientAddress(undefined, undefined, false)).toBe('unknown');
  });

  it('with n trusted proxies, takes the n-th address from the right, so a client cannot choose it', () => {
    // The client sent "6.6.6.6" itself; the one proxy appended the real address.
    expect(clientAddress('10.0.0.1', '6.6.6.6, 1.2.3.4', 1)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.1', ['6.6.6.6', '1.2.3.4, 10.0.0.2'], 2)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.1', '1.2.3.4', 3)).toBe('1.2.3.4');
  });

  it('with a list of proxies, walks from the right past them', () => {
    const proxies = ['10.0.0.1', '10.0.0.2'];
    expect(clientAddress('10.0.0.1', '6.6.6.6, 1.2.3.4, 10.0.0.2', proxies)).toBe('1.2.3.4');
    // A peer that is not a trusted proxy is the client, whatever it claims.
    expect(clientAddress('5.5.5.5', '1.2.3.4', proxies)).toBe('5.5.5.5');
  });

  it('trusting every hop takes the left-most address', () => {
    expect(clientAddress('10.0.0.1', ' 1.2.3.4 , 10.0.0.2', true)).toBe('1.2.3.4');
  });
});
