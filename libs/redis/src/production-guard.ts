import type { ResolvedRedisOptions } from './redis-options.validator.js';
import { RedisOptionsError } from './redis.errors.js';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** The hosts a connection reaches: the server, a Cluster's seed nodes, or a Sentinel group's sentinels. */
function hostsOf(options: ResolvedRedisOptions): string[] {
  const { topology } = options;
  if (topology.kind === 'standalone') return [topology.host];
  if (topology.kind === 'cluster') return topology.nodes.map((node) => node.host);
  return topology.sentinels.map((sentinel) => sentinel.host);
}

/**
 * What the production guard finds wrong with a connection's options, each with its fix: plain text
 * to a host other than loopback, no password, the `default` user. Never mentions a secret.
 */
export function productionFindings(options: ResolvedRedisOptions): string[] {
  const findings: string[] = [];
  const remote = hostsOf(options).filter((host) => !LOOPBACK.test(host));
  if (options.tls === undefined && remote.length > 0) {
    findings.push(`connects in plain text to ${remote.join(', ')}: use a rediss:// URL or the tls option`);
  }
  // A credentials provider authenticates every connection; which user it names is known only once
  // it has run, so the default-user finding is left to the provider's author.
  if (options.credentials !== undefined) return findings;
  if (options.password === undefined) {
    findings.push(
      'connects without a password: give username and password (npx redkit acl prints a least-privilege user)',
    );
  } else if (options.username === undefined || options.username === 'default') {
    findings.push(
      'connects as the default user, which has every command: create a least-privilege user (npx redkit acl) and give its username',
    );
  }
  return findings;
}

/**
 * Applies the guard to a connection about to open, when `NODE_ENV` is `production` and `security`
 * is not `off`: `strict` throws a {@link RedisOptionsError} naming every finding, `warn` logs them
 * once (the caller opens each connection once).
 */
export function guardProduction(
  name: string,
  options: ResolvedRedisOptions,
  warn: (message: string) => void,
): void {
  if (process.env.NODE_ENV !== 'production' || options.security === 'off') return;
  const findings = productionFindings(options);
  if (findings.length === 0) return;
  const summary = `connection "${name}" to ${options.target} ${findings.join('; ')}`;
  if (options.security === 'strict') throw new RedisOptionsError('security', `is "strict" and ${summary}`);
  warn(`${summary} (NODE_ENV=production; security: 'strict' refuses to start, 'off' silences this)`);
}
