#!/usr/bin/env node
// `npx redkit acl`: the least-privilege ACL user for the redkit modules an app uses, from their
// manifests (see RedisAclManifest), or `--check` of a deployed user with ACL DRYRUN.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { Redis } from 'ioredis';

import { aclSetUserArguments, checkAclUser, redisAclManifest, type RedisAclManifest } from '../index.js';

/** Each module's package and the name its manifest is exported under. */
const MODULES: Record<string, { package: string; manifest: string }> = {
  cache: { package: '@redkit/cache', manifest: 'cacheAclManifest' },
  'rate-limit': { package: '@redkit/rate-limit', manifest: 'rateLimitAclManifest' },
  lock: { package: '@redkit/lock', manifest: 'lockAclManifest' },
  orderbook: { package: '@redkit/orderbook', manifest: 'orderBookAclManifest' },
  messaging: { package: '@redkit/messaging', manifest: 'messagingAclManifest' },
  console: { package: '@redkit/console', manifest: 'consoleAclManifest' },
};

const USAGE = `Usage: redkit acl --prefix <keyPrefix> [--modules ${Object.keys(MODULES).join(',')}]
                  [--user <name>] [--option <module.option=value>]... [--manifest <file.js>]...
                  [--format command|file]
       redkit acl --check --url <admin redis:// URL> --user <name> --prefix <keyPrefix> [--modules ...]

Prints the ACL SETUSER line that lets <name> run exactly what those modules send, on keys and
channels under <keyPrefix>: (no @dangerous or @admin command). Default modules: every one installed.
Options: cache.invalidation=tracking (CLIENT TRACKING and the __redis__:invalidate channel).
--manifest adds your app's own commands and scripts: a module exporting a RedisAclManifest
(importing it must define the scripts it owns). --format file prints an aclfile line; the note
about the password goes to stderr, so stdout can be loaded as it is.
--check asks the server at --url (a user allowed ACL DRYRUN) whether <name> has all of it, and
lists what is missing with the rule that grants it (exit code 1).`;

async function loadManifests(names: readonly string[] | undefined): Promise<RedisAclManifest[]> {
  const manifests: RedisAclManifest[] = [];
  for (const name of names ?? Object.keys(MODULES)) {
    const module = MODULES[name];
    if (module === undefined)
      throw new Error(`unknown module "${name}"; known: ${Object.keys(MODULES).join(', ')}`);
    let exports: Record<string, unknown>;
    try {
      exports = (await import(module.package)) as Record<string, unknown>;
    } catch (error) {
      if (names === undefined) continue; // not installed, and not asked for by name
      throw new Error(`cannot load ${module.package} (is it installed?): ${(error as Error).message}`);
    }
    manifests.push(exports[module.manifest] as RedisAclManifest);
  }
  return manifests;
}

function isManifest(value: unknown): value is RedisAclManifest {
  const candidate = value as Partial<RedisAclManifest> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.module === 'string' &&
    Array.isArray(candidate.commands) &&
    typeof candidate.ownsScript === 'function'
  );
}

/** The manifests an app declares for itself, from the files `--manifest` names. */
async function loadAppManifests(files: readonly string[]): Promise<RedisAclManifest[]> {
  const manifests: RedisAclManifest[] = [];
  for (const file of files) {
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`--manifest ${file}: cannot load it: ${(error as Error).message}`);
    }
    const found = Object.values(exports).filter(isManifest);
    if (found.length === 0)
      throw new Error(`--manifest ${file}: exports no RedisAclManifest ({ module, commands, ownsScript })`);
    manifests.push(...found);
  }
  return manifests;
}

async function acl(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      prefix: { type: 'string' },
      modules: { type: 'string' },
      user: { type: 'string', default: 'redkit' },
      option: { type: 'string', multiple: true, default: [] },
      manifest: { type: 'string', multiple: true, default: [] },
      format: { type: 'string', default: 'command' },
      check: { type: 'boolean', default: false },
      url: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.prefix === undefined) throw new Error('--prefix is required (the keyPrefix of RedisModule)');
  const manifests = [
    ...(await loadManifests(
      values.modules
        ?.split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    )),
    ...(await loadAppManifests(values.manifest)),
  ];
  const spec = { prefix: values.prefix, user: values.user, manifests, options: values.option };
  if (values.check) {
    if (values.url === undefined)
      throw new Error('--check needs --url, a connection allowed to run ACL DRYRUN');
    const admin = new Redis(values.url, {
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      commandTimeout: 5_000,
    });
    try {
      await admin.connect();
      const missing = await checkAclUser(admin, spec, redisAclManifest);
      if (missing.length === 0) {
        console.log(`user "${values.user}" has every command and channel the modules need`);
        return 0;
      }
      for (const shortfall of missing)
        console.log(`missing ${shortfall.what}: ${shortfall.reason} (add: ${shortfall.rule})`);
      return 1;
    } finally {
      admin.disconnect();
    }
  }
  const args = aclSetUserArguments(spec, redisAclManifest);
  const modules = manifests.map((manifest) => manifest.module).join(', ') || 'none';
  if (values.format === 'file') {
    // Redis refuses comment lines in an aclfile, so the note goes to stderr.
    console.error(`# redkit modules: ${modules}; add the password as >secret or #<sha256>`);
    console.log(`user ${args.join(' ')}`);
  } else {
    console.log(`# redkit modules: ${modules}; then set a password: ACL SETUSER ${values.user} >secret`);
    console.log(`ACL SETUSER ${args.join(' ')}`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'acl') return acl(rest);
  console.log(USAGE);
  return command === undefined || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`redkit: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
