import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cacheAclManifest } from '@redkit/cache';
import { lockAclManifest } from '@redkit/lock';
import { messagingAclManifest } from '@redkit/messaging';
import { orderBookAclManifest } from '@redkit/orderbook';
import { rateLimitAclManifest } from '@redkit/rate-limit';
import {
  aclSetUserArguments,
  allDefinedScripts,
  checkAclUser,
  DANGEROUS_COMMANDS,
  defineScript,
  RedisPermissionError,
  manifestCommands,
  redisAclManifest,
  scriptCommands,
} from '@redkit/redis';
import { Redis } from 'ioredis';

import { openCache } from '../cache/cache-test-kit.js';
import { RedisServer } from '../harness/index.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../libs/redis/dist/cli/redkit.js', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const MANIFESTS = [
  cacheAclManifest,
  rateLimitAclManifest,
  lockAclManifest,
  orderBookAclManifest,
  messagingAclManifest,
];

describe('ACL manifests', () => {
  it('give every script the libs define to exactly one module', () => {
    // demo_* scripts are this file's own.
    const scripts = allDefinedScripts().filter((script) => !script.name.startsWith('demo_'));
    expect(scripts.length).toBeGreaterThan(30);
    for (const script of scripts) {
      const owners = [...MANIFESTS, redisAclManifest]
        .filter((manifest) => manifest.ownsScript(script.name))
        .map((manifest) => manifest.module);
      expect([script.name, owners.length]).toEqual([script.name, 1]);
    }
  });

  it("read a script's commands from its Lua, subcommands as ACL rules name them", () => {
    const lua = `redis.call('SET', KEYS[1], 'x')
local n = redis.pcall("xinfo", "CONSUMERS", KEYS[1], ARGV[1])
redis.call('GET', KEYS[1])`;
    expect(scriptCommands('demo', lua)).toEqual(['get', 'set', 'xinfo|consumers']);
  });

  it('refuse a script that calls a command by a built name unless it says which', () => {
    const lua = `local args = { 'ZADD', KEYS[1], 1, 'a' }
redis.call(unpack(args))`;
    expect(() => scriptCommands('demo_dynamic', lua)).toThrow(
      /script demo_dynamic calls a command by a name it builds/,
    );
    expect(scriptCommands('demo_dynamic', lua, ['zadd'])).toEqual(['zadd']);
  });
});

describe('ACL rules on a real server', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
  });

  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });

  it("grant no command of the server's @dangerous or @admin categories, which the static list matches", async () => {
    const dangerous = new Set([
      ...((await admin.call('ACL', 'CAT', 'dangerous')) as string[]),
      ...((await admin.call('ACL', 'CAT', 'admin')) as string[]),
    ]);
    const granted = manifestCommands([redisAclManifest, ...MANIFESTS], ['cache.invalidation=tracking']);
    expect(granted.filter((command) => dangerous.has(command))).toEqual([]);
    expect([...dangerous].filter((command) => !DANGEROUS_COMMANDS.has(command))).toEqual([]);
  });

  it('let a user made from them run the cache, and a check find nothing missing', async () => {
    const spec = { prefix: 'aclapp', user: 'aclapp', manifests: MANIFESTS };
    await admin.call('ACL', 'SETUSER', ...aclSetUserArguments(spec, redisAclManifest), '>aclapp-secret');
    expect(await checkAclUser(admin, spec, redisAclManifest)).toEqual([]);

    const url = new URL(server.url);
    const instance = await openCache(
      { url: `redis://aclapp:aclapp-secret@${url.host}`, keyPrefix: 'aclapp' },
      { ttlMs: 60_000 },
    );
    try {
      let loads = 0;
      const load = async () => ({ loads: (loads += 1) });
      expect(await instance.cache.getOrSet('book', load)).toEqual({ loads: 1 });
      await instance.cache.delete('book');
      expect(await instance.cache.getOrSet('book', load, { tags: ['books'] })).toEqual({ loads: 2 });
      await instance.cache.deleteByTag('books');
      expect(await instance.cache.get('book')).toBeUndefined();
    } finally {
      await instance.close();
    }
    // Outside the prefix the same user is refused.
    const outsider = new Redis(`redis://aclapp:aclapp-secret@${url.host}`, { enableReadyCheck: false });
    await expect(outsider.get('elsewhere')).rejects.toThrow(/NOPERM/);
    await expect(outsider.call('INFO')).rejects.toThrow(/NOPERM/);
    outsider.disconnect();
  });

  it('turn a refused script into a RedisPermissionError naming its module, its commands and the rules', async () => {
    const script = defineScript<[string], string>({
      name: 'demo_copy',
      numberOfKeys: 2,
      lua: `-- KEYS[1] source, KEYS[2] target; ARGV[1] fallback; returns what was copied
local value = redis.call('GET', KEYS[1]) or ARGV[1]
redis.call('SET', KEYS[2], value)
return value`,
    });
    await admin.call(
      'ACL',
      'SETUSER',
      'aclscript',
      'on',
      '>aclscript-secret',
      '~*',
      '-@all',
      '+evalsha',
      '+eval',
      '+get',
    );
    const url = new URL(server.url);
    const user = new Redis(`redis://aclscript:aclscript-secret@${url.host}`, { enableReadyCheck: false });
    try {
      const refused = await script.run(user, ['{s}:a', '{s}:b'], ['x']).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RedisPermissionError);
      expect(refused).toMatchObject({ module: 'demo', rule: '+get +set' });
      expect((refused as Error).message).toBe(
        'demo: the Redis ACL user may not run a command of script demo_copy (it runs GET, SET); grant it with "+get +set" (npx redkit acl --check lists all that is missing)',
      );
      await admin.call('ACL', 'SETUSER', 'aclscript', '-evalsha');
      const direct = await script.run(user, ['{s}:a', '{s}:b'], ['x']).catch((error: unknown) => error);
      expect(direct).toMatchObject({ module: 'demo', refused: 'run EVALSHA', rule: '+evalsha' });
    } finally {
      user.disconnect();
    }
  });

  it('name each command a deployed user lacks with the rule that grants it', async () => {
    const spec = { prefix: 'aclshort', user: 'aclshort', manifests: [cacheAclManifest] };
    await admin.call('ACL', 'SETUSER', ...aclSetUserArguments(spec, redisAclManifest), '-mget', '-sadd');
    const missing = await checkAclUser(admin, spec, redisAclManifest);
    expect(missing.map((shortfall) => [shortfall.what, shortfall.rule])).toEqual([
      ['mget', '+mget'],
      ['sadd', '+sadd'],
    ]);
    expect(missing[0]?.reason).toMatch(/no permissions to run the 'mget' command/);
  });
});

describe('npx redkit acl', () => {
  it('prints the ACL SETUSER line of the modules asked for, with the option a feature needs', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        cli,
        'acl',
        '--prefix',
        'shop',
        '--modules',
        'cache',
        '--user',
        'shop-api',
        '--option',
        'cache.invalidation=tracking',
      ],
      { cwd: root },
    );
    const line = stdout.split('\n').find((candidate) => candidate.startsWith('ACL SETUSER')) as string;
    expect(line).toMatch(
      /^ACL SETUSER shop-api on resetkeys ~shop:\* resetchannels &shop:\* &__redis__:invalidate -@all /,
    );
    const granted = line.split(' ').filter((word) => word.startsWith('+'));
    expect(granted).toEqual(
      expect.arrayContaining(['+get', '+mget', '+evalsha', '+client|tracking', '+client|id']),
    );
    expect(granted).not.toContain('+xadd');
    expect(granted.filter((rule) => DANGEROUS_COMMANDS.has(rule.slice(1)))).toEqual([]);
  });

  it('fails naming the argument when the prefix holds a glob character', async () => {
    const failure = await run(process.execPath, [cli, 'acl', '--prefix', 'shop*', '--modules', 'cache'], {
      cwd: root,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain(
      'redkit: redkit acl: --prefix must be 1-128 of A-Z a-z 0-9 _ . : - (no glob characters), got "shop*"',
    );
  });

  it('fails naming an unknown module', async () => {
    const failure = await run(process.execPath, [cli, 'acl', '--prefix', 'shop', '--modules', 'queue'], {
      cwd: root,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(/unknown module "queue"/);
  });
});
