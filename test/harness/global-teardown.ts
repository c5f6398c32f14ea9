import type * as SharedServersModule from './shared-servers.js';
import type * as RequireEsmSourceModule from './require-esm-source.js';

// Loaded as CommonJS like global-setup.ts; shared-servers.ts then comes from the require cache, with
// the state globalSetup left.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest gives globalTeardown a CommonJS require
const { requireEsmSource } = require('./require-esm-source.ts') as typeof RequireEsmSourceModule;
const { stopRecordedSharedServers } = requireEsmSource<typeof SharedServersModule>('./shared-servers.js');

/**
 * jest globalTeardown: stops the servers globalSetup started, SIGKILLs any redis-server recorded in the
 * run directory that is still alive (left by a crashed worker or a test that never stopped its server)
 * and removes the run directory with every server's temp directory.
 */
export default async function globalTeardown(): Promise<void> {
  await stopRecordedSharedServers();
}
