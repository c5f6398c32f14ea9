import { afterEach, describe, expect, it } from '@jest/globals';

import { guardProduction, productionFindings } from './production-guard.js';
import { RedisOptionsError } from './redis.errors.js';
import type { RedisModuleOptions } from './redis-options.interface.js';
import { resolveRedisOptions } from './redis-options.validator.js';

const findings = (options: RedisModuleOptions) => productionFindings(resolveRedisOptions(options));

describe('productionFindings', () => {
  it('finds nothing for a TLS connection as a named user with a password', () => {
    expect(findings({ url: 'rediss://shop-api:s3cret@redis.internal:6380' })).toEqual([]);
  });

  it('finds plain text only to hosts other than loopback', () => {
    expect(findings({ url: 'redis://shop-api:s3cret@10.0.0.5:6379' })).toEqual([
      'connects in plain text to 10.0.0.5: use a rediss:// URL or the tls option',
    ]);
    expect(findings({ url: 'redis://shop-api:s3cret@127.0.0.1:6379' })).toEqual([]);
    expect(findings({ url: 'redis://shop-api:s3cret@localhost:6379' })).toEqual([]);
  });

  it('names the remote nodes of a Cluster and the sentinels of a Sentinel group', () => {
    const cluster = findings({
      cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }, 'redis-a.internal:7001'] },
      username: 'shop-api',
      password: 's3cret',
    });
    expect(cluster).toEqual([
      'connects in plain text to redis-a.internal: use a rediss:// URL or the tls option',
    ]);
    const sentinel = findings({
      sentinel: { sentinels: [{ host: 'sentinel-1', port: 26379 }], name: 'main' },
      username: 'shop-api',
      password: 's3cret',
    });
    expect(sentinel[0]).toContain('plain text to sentinel-1');
  });

  it('finds a connection without a password, and one as the default user', () => {
    expect(findings({ url: 'redis://127.0.0.1:6379' })).toEqual([
      'connects without a password: give username and password (npx redkit acl prints a least-privilege user)',
    ]);
    const asDefault =
      'connects as the default user, which has every command: create a least-privilege user (npx redkit acl) and give its username';
    expect(findings({ url: 'redis://:s3cret@127.0.0.1:6379' })).toEqual([asDefault]);
    expect(findings({ url: 'redis://default:s3cret@127.0.0.1:6379' })).toEqual([asDefault]);
  });
});

describe('guardProduction', () => {
  const environment = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = environment;
  });

  it('stays silent outside production, and with security off', () => {
    const warnings: string[] = [];
    process.env.NODE_ENV = 'development';
    guardProduction('main', resolveRedisOptions({ url: 'redis://10.0.0.5:6379' }), (line) =>
      warnings.push(line),
    );
    process.env.NODE_ENV = 'production';
    guardProduction('main', resolveRedisOptions({ url: 'redis://10.0.0.5:6379', security: 'off' }), (line) =>
      warnings.push(line),
    );
    expect(warnings).toEqual([]);
  });

  it('warns once in production, naming the connection, every finding and the option, never the password', () => {
    process.env.NODE_ENV = 'production';
    const warnings: string[] = [];
    guardProduction('main', resolveRedisOptions({ url: 'redis://default:hunter2@10.0.0.5:6379' }), (line) =>
      warnings.push(line),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^connection "main" to redis:\/\/default:\*\*\*@10\.0\.0\.5:6379 connects in plain text .*; connects as the default user/,
    );
    expect(warnings[0]).toContain("security: 'strict' refuses to start");
    expect(warnings[0]).not.toContain('hunter2');
  });

  it("refuses to start with security 'strict', naming the option", () => {
    process.env.NODE_ENV = 'production';
    const attempt = () =>
      guardProduction(
        'main',
        resolveRedisOptions({ url: 'redis://10.0.0.5:6379', security: 'strict' }),
        () => undefined,
      );
    expect(attempt).toThrow(RedisOptionsError);
    expect(attempt).toThrow(
      /RedisModule option "security" is "strict" and connection "main" .* connects without a password/,
    );
  });

  it('fails at startup on an unknown security level', () => {
    expect(() => resolveRedisOptions({ security: 'paranoid' as 'strict' })).toThrow(
      'RedisModule option "security" must be "warn", "strict" or "off", got "paranoid"',
    );
  });
});
