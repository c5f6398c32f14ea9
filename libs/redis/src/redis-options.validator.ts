import type { ConnectionOptions } from 'node:tls';

import { REDIS_DEFAULTS } from './redis.constants.js';
import { RedisOptionsError } from './redis.errors.js';
import type { RedisCredentialsProvider } from './credentials/redis-credentials.js';
import type { RedisModuleOptions, RedisNodeAddress, RedisTlsOptions } from './redis-options.interface.js';

/** Options after validation: one topology, every default applied, durations checked. */
export interface ResolvedRedisOptions {
  topology:
    | { kind: 'standalone'; host: string; port: number; db: number }
    | {
        kind: 'cluster';
        nodes: RedisNodeAddress[];
        options: NonNullable<RedisModuleOptions['cluster']>['options'];
      }
    | { kind: 'sentinel'; sentinels: RedisNodeAddress[]; name: string; password?: string; username?: string };
  /** Where the connection goes, for messages and logs; never contains the password. */
  target: string;
  username?: string;
  password?: string;
  /** The rotating credentials provider; when set, `username` and `password` are undefined. */
  credentials?: RedisCredentialsProvider;
  tls?: ConnectionOptions;
  keyPrefix: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  enableAutoPipelining: boolean;
  offlineQueue: boolean;
  startup: 'wait' | 'background';
  security: 'warn' | 'strict' | 'off';
  /** Sampling interval of the server metrics, or undefined when they are off. */
  serverMetricsIntervalMs?: number;
  reconnectMinDelayMs: number;
  reconnectMaxDelayMs: number;
  maxKeyPartBytes: number;
  clientName?: string;
  redisOptions: NonNullable<RedisModuleOptions['redisOptions']>;
}

const KEY_PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

function positiveDuration(
  options: RedisModuleOptions,
  name: keyof RedisModuleOptions,
  fallback: number,
): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 3_600_000) {
    throw new RedisOptionsError(
      name,
      `must be a number of milliseconds above 0 and at most 3600000, got ${show(value)}`,
    );
  }
  return value;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function port(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new RedisOptionsError(option, `must be an integer port from 1 to 65535, got ${show(value)}`);
  }
  return value;
}

function host(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || /\s/.test(value)) {
    throw new RedisOptionsError(option, `must be a host name or IP address, got ${show(value)}`);
  }
  return value;
}

function database(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 15_999) {
    throw new RedisOptionsError(option, `must be a database index from 0, got ${show(value)}`);
  }
  return value;
}

function nodeAddress(option: string, node: RedisNodeAddress | string): RedisNodeAddress {
  if (typeof node === 'string') {
    const match = /^(?:redis:\/\/)?\[?([^\]\s]+?)\]?:(\d+)$/.exec(node);
    if (!match) throw new RedisOptionsError(option, `must be "host:port", got ${show(node)}`);
    return { host: match[1] as string, port: port(option, Number(match[2])) };
  }
  if (typeof node !== 'object' || node === null) {
    throw new RedisOptionsError(option, `must be "host:port" or { host, port }, got ${show(node)}`);
  }
  return { host: host(`${option}.host`, node.host), port: port(`${option}.port`, node.port) };
}

function tlsOptions(
  value: boolean | RedisTlsOptions | undefined,
  fromUrl: boolean,
): ConnectionOptions | undefined {
  if (value === undefined || value === false) return fromUrl ? {} : undefined;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null) {
    throw new RedisOptionsError(
      'tls',
      `must be true, false or { ca, cert, key, servername }, got ${show(value)}`,
    );
  }
  if ((value.cert === undefined) !== (value.key === undefined)) {
    throw new RedisOptionsError('tls', 'needs both "cert" and "key" for a client certificate, or neither');
  }
  return { ...value };
}

/** Parses a `redis://` or `rediss://` URL into a standalone topology and credentials. */
function parseUrl(url: unknown) {
  if (typeof url !== 'string') throw new RedisOptionsError('url', `must be a string, got ${show(url)}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisOptionsError('url', `is not a valid URL: ${show(redact(url))}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisOptionsError('url', `must start with redis:// or rediss://, got ${show(redact(url))}`);
  }
  if (!parsed.hostname) throw new RedisOptionsError('url', `has no host: ${show(redact(url))}`);
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) {
    throw new RedisOptionsError('url', `path must be a database number, got ${show(parsed.pathname)}`);
  }
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? port('url', Number(parsed.port)) : 6379,
    db: path === '' ? 0 : database('url', Number(path)),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === 'rediss:',
  };
}

/** The URL with its password replaced, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * Checks every option once, at startup, and applies the defaults. Throws a {@link RedisOptionsError}
 * naming the first bad option.
 */
export function resolveRedisOptions(input: RedisModuleOptions | undefined): ResolvedRedisOptions {
  if (input === undefined || input === null || typeof input !== 'object') {
    throw new RedisOptionsError('options', `must be an object, got ${show(input)}`);
  }
  const options = input;
  const given = (['url', 'cluster', 'sentinel'] as const).filter((name) => options[name] !== undefined);
  if (options.host !== undefined || options.port !== undefined) given.push('host' as never);
  if (given.length > 1) {
    throw new RedisOptionsError(
      given[1] as string,
      `cannot be combined with "${given[0]}": give one way to connect`,
    );
  }

  let topology: ResolvedRedisOptions['topology'];
  let target: string;
  let username = options.username;
  let password = options.password;
  let tlsFromUrl = false;

  if (options.cluster !== undefined) {
    const nodes = options.cluster?.nodes;
    if (!Array.isArray(nodes) || nodes.length === 0) {
      throw new RedisOptionsError(
        'cluster.nodes',
        'must list at least one seed node ("host:port" or { host, port })',
      );
    }
    if (options.db !== undefined && options.db !== 0) {
      throw new RedisOptionsError(
        'db',
        'must be 0 (or unset) with a cluster: Redis Cluster has only database 0',
      );
    }
    const addresses = nodes.map((node, index) => nodeAddress(`cluster.nodes[${index}]`, node));
    topology = { kind: 'cluster', nodes: addresses, options: options.cluster.options };
    target = `cluster ${addresses.map((node) => `${node.host}:${node.port}`).join(',')}`;
  } else if (options.sentinel !== undefined) {
    const { sentinels, name } = options.sentinel ?? ({} as NonNullable<RedisModuleOptions['sentinel']>);
    if (!Array.isArray(sentinels) || sentinels.length === 0) {
      throw new RedisOptionsError('sentinel.sentinels', 'must list at least one sentinel { host, port }');
    }
    if (typeof name !== 'string' || name.length === 0) {
      throw new RedisOptionsError('sentinel.name', 'must be the name of the monitored master');
    }
    const addresses = sentinels.map((node, index) => nodeAddress(`sentinel.sentinels[${index}]`, node));
    topology = { ...options.sentinel, kind: 'sentinel', sentinels: addresses, name };
    target = `sentinel master "${name}" via ${addresses.map((node) => `${node.host}:${node.port}`).join(',')}`;
  } else if (options.url !== undefined) {
    const url = parseUrl(options.url);
    const db = options.db === undefined ? url.db : database('db', options.db);
    topology = { kind: 'standalone', host: url.host, port: url.port, db };
    target = redact(options.url);
    username ??= url.username;
    password ??= url.password;
    tlsFromUrl = url.tls;
  } else {
    const h = options.host === undefined ? '127.0.0.1' : host('host', options.host);
    const p = options.port === undefined ? 6379 : port('port', options.port);
    const db = options.db === undefined ? 0 : database('db', options.db);
    topology = { kind: 'standalone', host: h, port: p, db };
    target = `redis://${h.includes(':') ? `[${h}]` : h}:${p}/${db}`;
  }

  if (username !== undefined && (typeof username !== 'string' || username.length === 0)) {
    throw new RedisOptionsError('username', `must be a non-empty string, got ${show(username)}`);
  }
  if (password !== undefined && typeof password !== 'string') {
    throw new RedisOptionsError('password', 'must be a string');
  }
  const { credentials } = options;
  if (credentials !== undefined) {
    if (typeof credentials !== 'function') {
      throw new RedisOptionsError(
        'credentials',
        `must be a function returning a Promise of { username?, password, expiresAt? }, got ${show(typeof credentials)}`,
      );
    }
    if (password !== undefined || username !== undefined) {
      throw new RedisOptionsError(
        'credentials',
        'cannot be combined with username or password (in the options or the URL): the provider gives both',
      );
    }
  }
  const keyPrefix = options.keyPrefix ?? REDIS_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || !KEY_PREFIX.test(keyPrefix)) {
    throw new RedisOptionsError(
      'keyPrefix',
      `must be 1-64 characters of A-Z a-z 0-9 _ . -, got ${show(keyPrefix)}`,
    );
  }
  const startup = options.startup ?? REDIS_DEFAULTS.startup;
  if (startup !== 'wait' && startup !== 'background') {
    throw new RedisOptionsError('startup', `must be "wait" or "background", got ${show(startup)}`);
  }
  const security = options.security ?? 'warn';
  if (security !== 'warn' && security !== 'strict' && security !== 'off') {
    throw new RedisOptionsError('security', `must be "warn", "strict" or "off", got ${show(security)}`);
  }
  let serverMetricsIntervalMs: number | undefined;
  const { serverMetrics } = options;
  if (serverMetrics === true) serverMetricsIntervalMs = 15_000;
  else if (typeof serverMetrics === 'object' && serverMetrics !== null) {
    serverMetricsIntervalMs = serverMetrics.intervalMs ?? 15_000;
    if (!Number.isFinite(serverMetricsIntervalMs) || serverMetricsIntervalMs < 100) {
      throw new RedisOptionsError(
        'serverMetrics.intervalMs',
        `must be a number of milliseconds from 100, got ${show(serverMetricsIntervalMs)}`,
      );
    }
  } else if (serverMetrics !== undefined && serverMetrics !== false) {
    throw new RedisOptionsError(
      'serverMetrics',
      `must be true, false or { intervalMs }, got ${show(serverMetrics)}`,
    );
  }
  for (const flag of ['enableAutoPipelining', 'offlineQueue'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new RedisOptionsError(flag, `must be true or false, got ${show(options[flag])}`);
    }
  }
  const reconnectMinDelayMs = positiveDuration(
    options,
    'reconnectMinDelayMs',
    REDIS_DEFAULTS.reconnectMinDelayMs,
  );
  const reconnectMaxDelayMs = positiveDuration(
    options,
    'reconnectMaxDelayMs',
    REDIS_DEFAULTS.reconnectMaxDelayMs,
  );
  if (reconnectMaxDelayMs < reconnectMinDelayMs) {
    throw new RedisOptionsError(
      'reconnectMaxDelayMs',
      `must not be below reconnectMinDelayMs (${reconnectMinDelayMs})`,
    );
  }
  const maxKeyPartBytes = options.maxKeyPartBytes ?? REDIS_DEFAULTS.maxKeyPartBytes;
  if (!Number.isInteger(maxKeyPartBytes) || maxKeyPartBytes < 16 || maxKeyPartBytes > 65_536) {
    throw new RedisOptionsError(
      'maxKeyPartBytes',
      `must be an integer from 16 to 65536, got ${show(maxKeyPartBytes)}`,
    );
  }
  if (options.clientName !== undefined && !/^[!-~]{1,128}$/.test(options.clientName)) {
    throw new RedisOptionsError('clientName', 'must be 1-128 printable characters without spaces');
  }

  return {
    topology,
    target,
    username,
    password,
    credentials,
    tls: tlsOptions(options.tls, tlsFromUrl),
    keyPrefix,
    commandTimeoutMs: positiveDuration(options, 'commandTimeoutMs', REDIS_DEFAULTS.commandTimeoutMs),
    connectTimeoutMs: positiveDuration(options, 'connectTimeoutMs', REDIS_DEFAULTS.connectTimeoutMs),
    enableAutoPipelining: options.enableAutoPipelining ?? REDIS_DEFAULTS.enableAutoPipelining,
    offlineQueue: options.offlineQueue ?? REDIS_DEFAULTS.offlineQueue,
    startup,
    security,
    serverMetricsIntervalMs,
    reconnectMinDelayMs,
    reconnectMaxDelayMs,
    maxKeyPartBytes,
    clientName: options.clientName,
    redisOptions: options.redisOptions ?? {},
  };
}
