// Prepares what test/consumer/packed-libs.spec.ts checks: every lib packed into <scratch>/artifacts,
// and test/consumer/app copied to <scratch>/app, with the tarballs and public packages installed
// from the registry and its sources compiled as ESM (dist/) and as CommonJS (cjs/dist/) by the app's
// own TypeScript 7. Writes <scratch>/packed.json (what pack() returns).
//
// `npm test` (scripts/test-node-lines.mjs) prepares it once and hands the folder to every Node
// line's jest run through REDKIT_CONSUMER_DIR: packing and installing are the slow part, and what
// they produce does not depend on the Node that will run the app. A jest run without it prepares
// its own, through `node scripts/consumer-app.mjs <scratch>`.
import { execFile } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { pack } from './pack.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
/** Installing from the registry is the slow part: a cold npm cache may take a minute or two. */
export const INSTALL_TIMEOUT_MS = 240_000;
/** The environment variable naming a prepared folder. */
export const CONSUMER_DIR_ENV = 'REDKIT_CONSUMER_DIR';

/** Compiles one of the app's projects with its own TypeScript 7; tsc emits even with type errors. */
function compile(app, project) {
  return run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', project], {
    cwd: app,
  }).catch(() => undefined);
}

/** `build: false` when the libs' dist/ is already built (pack() otherwise builds it first). */
export async function prepareConsumerApp(scratch, { build = true } = {}) {
  const packed = await pack({ destination: join(scratch, 'artifacts'), build });
  const app = join(scratch, 'app');
  await cp(join(root, 'test/consumer/app'), app, {
    recursive: true,
    filter: (path) => !/node_modules|dist$/.test(path),
  });
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((lib) => lib.tarball)],
    { cwd: app, timeout: INSTALL_TIMEOUT_MS, env: { ...process.env, npm_config_loglevel: 'error' } },
  );
  // The same sources also as a CommonJS app (cjs/package.json says so), for apps not yet on ESM.
  await cp(join(app, 'src'), join(app, 'cjs/src'), { recursive: true });
  await Promise.all([compile(app, 'tsconfig.json'), compile(app, 'cjs/tsconfig.json')]);
  await writeFile(join(scratch, 'packed.json'), `${JSON.stringify(packed)}\n`);
  return { packed, app };
}

// `node scripts/consumer-app.mjs <scratch>`
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const scratch = process.argv[2];
  if (!scratch) throw new Error('usage: node scripts/consumer-app.mjs <scratch folder>');
  await prepareConsumerApp(resolve(scratch));
}
