import { RedisClusterServers } from './redis-cluster.js';
import { RedisServer } from './redis-server.js';
import { createRunDirectory, removeRunDirectory, RUN_DIR_ENV, sweepAbandonedRuns } from './run-directory.js';
import { createSuiteAclUser, SUITE_ACL_USER } from './suite-acl-user.js';

/** Set by globalSetup: the URL of the shared standalone server. */
export const STANDALONE_URL_ENV = 'REDKIT_TEST_STANDALONE_URL';
/** Set by globalSetup: the shared cluster's seed nodes, as JSON. */
export const CLUSTER_NODES_ENV = 'REDKIT_TEST_CLUSTER_NODES';
/** Set by globalSetup: the password of the least-privilege user on the shared servers. */
export const ACL_PASSWORD_ENV = 'REDKIT_TEST_ACL_PASSWORD';

/**
 * What globalSetup started. It lives on globalThis because jest runs globalSetup and globalTeardown in
 * the same process but as separately loaded modules.
 */
interface SharedServers {
  runDirectory: string;
  standalone?: RedisServer;
  cluster?: RedisClusterServers;
  /** Stops the servers above, kills any server a crashed worker left behind, removes the run directory. */
  stop(): Promise<void>;
}

const STATE_KEY = Symbol.for('redkit.test-harness.shared-servers');
const store = globalThis as typeof globalThis & { [STATE_KEY]?: SharedServers };

/**
 * The URL of the Redis every test may share: REDIS_URL when set (to test against an existing server,
 * as whatever user it names), otherwise the standalone server jest's globalSetup started, as the
 * least-privilege user made from the modules' ACL manifests (suite-acl-user.ts): what the modules
 * under test connect with, so a command missing from a manifest fails the suite with NOPERM.
 */
export function sharedRedisUrl(): string {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const url = new URL(sharedAdminRedisUrl());
  url.username = SUITE_ACL_USER;
  url.password = aclPassword();
  return url.toString();
}

/**
 * The same server as the `default` user, allowed everything: for a test's own inspection and fault
 * injection (INFO, CONFIG, MONITOR, CLIENT KILL, FLUSHALL), never for the modules under test.
 */
export function sharedAdminRedisUrl(): string {
  const url = process.env.REDIS_URL || process.env[STANDALONE_URL_ENV];
  if (!url) {
    throw new Error(
      `sharedRedisUrl: neither REDIS_URL nor ${STANDALONE_URL_ENV} is set; run the tests through jest ` +
        '(its globalSetup, test/harness/global-setup.ts, starts the shared servers)',
    );
  }
  return url;
}

/** The credentials of the least-privilege user on the shared servers, as RedisModule options. */
export function sharedAclCredentials(): { username: string; password: string } {
  return { username: SUITE_ACL_USER, password: aclPassword() };
}

function aclPassword(): string {
  const password = process.env[ACL_PASSWORD_ENV];
  if (!password)
    throw new Error(`${ACL_PASSWORD_ENV} is not set; run the tests through jest (its globalSetup)`);
  return password;
}

/** Seed nodes of the 3-master Redis Cluster jest's globalSetup started. */
export function sharedClusterNodes(): Array<{ host: string; port: number }> {
  const json = process.env[CLUSTER_NODES_ENV];
  if (!json) {
    throw new Error(
      `sharedClusterNodes: ${CLUSTER_NODES_ENV} is not set; run the tests through jest ` +
        '(its globalSetup, test/harness/global-setup.ts, starts the shared servers)',
    );
  }
  return JSON.parse(json) as Array<{ host: string; port: number }>;
}

/**
 * Starts the shared standalone server (unless REDIS_URL is set) and the shared cluster, and publishes
 * them through environment variables, which jest workers inherit. On failure it stops whatever did
 * start before rethrowing, since jest skips globalTeardown when globalSetup fails.
 */
export async function startSharedServers(): Promise<void> {
  await sweepAbandonedRuns();
  const runDirectory = createRunDirectory();
  process.env[RUN_DIR_ENV] = runDirectory;
  const state: SharedServers = { runDirectory, stop: () => stopSharedServers(state) };
  store[STATE_KEY] = state;

  const [standalone, cluster] = await Promise.allSettled([
    process.env.REDIS_URL ? Promise.resolve(undefined) : RedisServer.start(),
    RedisClusterServers.start({ masters: 3 }),
  ]);
  if (standalone.status === 'fulfilled') state.standalone = standalone.value;
  if (cluster.status === 'fulfilled') state.cluster = cluster.value;
  const failure = [standalone, cluster].find((result) => result.status === 'rejected');
  if (failure) {
    await state.stop();
    throw failure.reason;
  }

  try {
    const servers = [...(state.cluster?.nodes ?? [])];
    if (state.standalone) servers.push({ host: state.standalone.host, port: state.standalone.port });
    process.env[ACL_PASSWORD_ENV] = await createSuiteAclUser(servers);
  } catch (error) {
    await state.stop();
    throw error;
  }
  if (state.standalone) process.env[STANDALONE_URL_ENV] = state.standalone.url;
  process.env[CLUSTER_NODES_ENV] = JSON.stringify(state.cluster?.nodes);
}

/** What globalTeardown calls: undoes startSharedServers, if it ran in this process. */
export async function stopRecordedSharedServers(): Promise<void> {
  await store[STATE_KEY]?.stop();
}

async function stopSharedServers(state: SharedServers): Promise<void> {
  if (store[STATE_KEY] === state) delete store[STATE_KEY];
  await Promise.allSettled([state.standalone?.stop(), state.cluster?.stop()]);
  await removeRunDirectory(state.runDirectory);
  delete process.env[STANDALONE_URL_ENV];
  delete process.env[CLUSTER_NODES_ENV];
  delete process.env[ACL_PASSWORD_ENV];
  if (process.env[RUN_DIR_ENV] === state.runDirectory) delete process.env[RUN_DIR_ENV];
}

/**
 * The shared standalone server and the shared cluster as RedisModule connection options, for
 * `describe.each(sharedTopologies)('... on %s', (name, options) => ...)`.
 */
export const sharedTopologies = [
  ['a standalone server', () => ({ url: sharedRedisUrl() })],
  ['the 3-master cluster', () => ({ cluster: { nodes: sharedClusterNodes() }, ...sharedAclCredentials() })],
] as const;
