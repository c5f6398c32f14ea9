import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

import type * as SharedServersModule from './shared-servers.js';
import type * as RequireEsmSourceModule from './require-esm-source.js';

// jest loads this file as CommonJS, where the harness's './x.js' imports do not resolve on their own
// (see require-esm-source.ts, which itself is named by its real '.ts' file so that it does).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest gives globalSetup a CommonJS require
const { requireEsmSource } = require('./require-esm-source.ts') as typeof RequireEsmSourceModule;
/** The repository root (this file is test/harness/global-setup.ts). */
const root = resolve(__dirname, '../..');
const { startSharedServers } = requireEsmSource<typeof SharedServersModule>('./shared-servers.js');

/**
 * jest globalSetup: starts the shared standalone Redis (unless REDIS_URL is set) and the shared
 * 3-master cluster, and publishes them to test workers through REDKIT_TEST_STANDALONE_URL,
 * REDKIT_TEST_CLUSTER_NODES and REDKIT_TEST_RUN_DIR (read them with sharedRedisUrl() and
 * sharedClusterNodes()).
 */
export default async function globalSetup(): Promise<void> {
  // Multi-process tests fork workers that run the compiled libs (dist/), as a deployed service would.
  // Building once here, before any test file runs, means no file rebuilds dist/ under another
  // file's running workers: scripts/build.mjs skips its build while this variable is set.
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
  process.env.REDKIT_DIST_BUILT_FOR_TESTS = '1';
  await startSharedServers();
}
