import { describe, expect, it } from '@jest/globals';

import { RedisOptionsError } from './redis.errors.js';
import { redact, resolveRedisOptions } from './redis-options.validator.js';
import type { RedisModuleOptions } from './redis-options.interface.js';

function optionNamedBy(options: RedisModuleOptions): string {
  try {
    resolveRedisOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(RedisOptionsError);
    return (error as RedisOptionsError).option;
  }
  throw new Error('expected the options to be refused');
}

describe('resolveRedisOptions', () => {
  it('parses a redis:// URL with credentials and database', () => {
    const resolved = resolveRedisOptions({ url: 'redis://app:s%3Acret@cache.local:6380/3' });
    expect(resolved.topology).toEqual({ kind: 'standalone', host: 'cache.local', port: 6380, db: 3 });
    expect(resolved.username).toBe('app');
    expect(resolved.password).toBe('s:cret');
    expect(resolved.tls).toBeUndefined();
    expect(resolved.target).toBe('redis://app:***@cache.local:6380/3');
  });

  it('turns TLS on for rediss:// and keeps explicit TLS settings', () => {
    expect(resolveRedisOptions({ url: 'rediss://h:1' }).tls).toEqual({});
    expect(resolveRedisOptions({ url: 'rediss://h:1', tls: { ca: 'PEM' } }).tls).toEqual({ ca: 'PEM' });
  });

  it('applies bounded defaults: 1 s command timeout, 5 s connect timeout, prefix redkit', () => {
    const resolved = resolveRedisOptions({});
    expect(resolved.topology).toEqual({ kind: 'standalone', host: '127.0.0.1', port: 6379, db: 0 });
    expect(resolved.commandTimeoutMs).toBe(1000);
    expect(resolved.connectTimeoutMs).toBe(5000);
    expect(resolved.keyPrefix).toBe('redkit');
    expect(resolved.offlineQueue).toBe(false);
  });

  it('accepts cluster seed nodes as strings or objects', () => {
    const resolved = resolveRedisOptions({
      cluster: { nodes: ['127.0.0.1:7000', { host: 'b', port: 7001 }] },
    });
    expect(resolved.topology).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    });
  });

  it.each<[string, RedisModuleOptions, string]>([
    ['a URL that does not parse', { url: 'not a url' }, 'url'],
    ['a URL of another scheme', { url: 'http://localhost:6379' }, 'url'],
    ['a URL whose path is not a database', { url: 'redis://h:6379/cache' }, 'url'],
    ['a negative command timeout', { commandTimeoutMs: -1 }, 'commandTimeoutMs'],
    ['an infinite connect timeout', { connectTimeoutMs: Number.POSITIVE_INFINITY }, 'connectTimeoutMs'],
    ['a cluster without nodes', { cluster: { nodes: [] } }, 'cluster.nodes'],
    ['a cluster node without a port', { cluster: { nodes: ['127.0.0.1'] } }, 'cluster.nodes[0]'],
    ['a database on a cluster', { cluster: { nodes: ['h:1'] }, db: 2 }, 'db'],
    [
      'a sentinel without a master name',
      { sentinel: { sentinels: [{ host: 'h', port: 1 }], name: '' } },
      'sentinel.name',
    ],
    ['a port out of range', { port: 70000 }, 'port'],
    ['a url and a cluster together', { url: 'redis://h', cluster: { nodes: ['h:1'] } }, 'cluster'],
    ['a key prefix with a colon', { keyPrefix: 'a:b' }, 'keyPrefix'],
    ['an unknown startup mode', { startup: 'lazy' as 'wait' }, 'startup'],
    ['a client certificate without its key', { tls: { cert: 'PEM' } }, 'tls'],
    [
      'reconnect bounds the wrong way round',
      { reconnectMinDelayMs: 500, reconnectMaxDelayMs: 100 },
      'reconnectMaxDelayMs',
    ],
  ])('refuses %s, naming the option', (_case, options, option) => {
    expect(optionNamedBy(options)).toBe(option);
  });

  it('says what was wrong in the message', () => {
    expect(() => resolveRedisOptions({ commandTimeoutMs: -5 })).toThrow(
      'RedisModule option "commandTimeoutMs" must be a number of milliseconds above 0 and at most 3600000, got -5',
    );
  });

  it('never puts the password in messages', () => {
    expect(() => resolveRedisOptions({ url: 'http://u:hunter2@h' })).toThrow(/u:\*\*\*@h/);
    expect(redact('rediss://:hunter2@h:1')).toBe('rediss://:***@h:1');
  });

  it('takes a credentials provider in place of a password, and refuses the two together', () => {
    const credentials = async () => ({ password: 'rotating' });
    const resolved = resolveRedisOptions({ url: 'redis://cache.local:6379', credentials });
    expect(resolved.credentials).toBe(credentials);
    expect(resolved.password).toBeUndefined();
    expect(optionNamedBy({ url: 'redis://app:secret@cache.local:6379', credentials })).toBe('credentials');
    expect(optionNamedBy({ password: 'secret', credentials })).toBe('credentials');
    expect(optionNamedBy({ credentials: 'a-token' as unknown as typeof credentials })).toBe('credentials');
  });
});
