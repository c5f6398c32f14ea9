import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { Redis } from 'ioredis';

/** The least-privilege user every module test connects as (see {@link createSuiteAclUser}). */
export const SUITE_ACL_USER = 'redkit-suite';

/**
 * Commands the tests themselves send on the modules' connections, none of them `@dangerous`: probes
 * of what a module wrote (STRLEN of a packed log, HLEN of a semaphore's permits, SCARD, LRANGE),
 * faults they inject (XDEL of pending entries, XGROUP CREATECONSUMER of a consumer that died),
 * counters of the multi-process workers (INCR, DECR, SADD), SCRIPT EXISTS after a flush, and what the tests' own little apps and
 * scripts do (HSETNX, INCRBY, RPUSH). A module needing one of these would still pass here: the
 * redkit acl test (test/redis/acl-manifest.spec.ts) runs modules as a user with the manifests alone.
 */
const TEST_COMMANDS = [
  'incr',
  'decr',
  'script|exists',
  'strlen',
  'hlen',
  'scard',
  'sadd',
  'lrange',
  'xdel',
  'xgroup|createconsumer',
  'hsetnx',
  'incrby',
  'rpush',
];

/** The bin of the built @redkit/redis; jest runs from the repository root (globalSetup loads this file as CommonJS, without import.meta). */
const cli = join(process.cwd(), 'libs/redis/dist/cli/redkit.js');

/**
 * The command rules of a user allowed what every redkit module sends (tracking invalidation
 * included), as the published `redkit acl` bin prints them from the modules' manifests: `+get`,
 * `+xinfo|groups`, ... Needs libs/redis/dist built.
 */
export function suiteCommandRules(): string[] {
  const output = execFileSync(
    process.execPath,
    [cli, 'acl', '--prefix', 'suite', '--user', SUITE_ACL_USER, '--option', 'cache.invalidation=tracking'],
    { encoding: 'utf8' },
  );
  const line = output.split('\n').find((candidate) => candidate.startsWith('ACL SETUSER '));
  if (line === undefined) throw new Error(`redkit acl printed no ACL SETUSER line:\n${output}`);
  return line.split(' ').filter((word) => word.startsWith('+'));
}

/**
 * Creates (or resets) {@link SUITE_ACL_USER} on each server, through its `default` user (the
 * harness's servers leave it open, for the tests' own inspection and fault injection): the
 * manifests' commands and nothing else (`-@all` first, so no `@dangerous` command such as INFO or
 * CONFIG), on any key and channel, since test files use many key prefixes; that one prefix's keys
 * are all a user made by `redkit acl` reaches is checked in test/redis/acl-manifest.spec.ts.
 * Returns the password, new for each run.
 */
export async function createSuiteAclUser(
  servers: ReadonlyArray<{ host: string; port: number }>,
): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  const rules = [...suiteCommandRules(), ...TEST_COMMANDS.map((command) => `+${command}`)];
  await Promise.all(
    servers.map(async ({ host, port }) => {
      const admin = new Redis({
        host,
        port,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
      });
      try {
        await admin.connect();
        await admin.call(
          'ACL',
          'SETUSER',
          SUITE_ACL_USER,
          'reset',
          'on',
          `>${password}`,
          '~*',
          '&*',
          '-@all',
          ...rules,
        );
      } finally {
        admin.disconnect();
      }
    }),
  );
  return password;
}
